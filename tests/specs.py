"""Small specs shared by several test files."""

# A conv/batchnorm/pool/dropout/fc network small enough to train in a test.
TINY = """\
name: tiny
input: 3x16x16
layers:
  - conv: {name: conv1, out: 8, kernel: 3, pad: 1}
  - batchnorm: {name: bn1}
  - relu
  - maxpool: 2
  - flatten
  - dropout: {name: drop, p: 0.3}
  - fc: {name: fc, out: 4}
  - softmax
"""
