"""Layout by an outside engine: a graph of boxes in, their places out.

``dot.py`` hands a :class:`~netviz.layout.dot.Graph` (nodes, edges with
labels, nested clusters, all sized in the style's pixel units) to Graphviz's
``dot`` and reads back where everything went. It knows nothing of networks
or scenes: the styles build the graph and draw the result themselves.
"""
