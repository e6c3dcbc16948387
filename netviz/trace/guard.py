"""Running a user's model code (``file.py:Net``, ``pkg.mod:Net``) so that
whatever it does ends as one line: an exception of any kind (BaseException,
GeneratorExit, SystemExit from sys.exit), a call to os._exit, or a change of
the working directory (which would move where netviz writes)."""
from __future__ import annotations

import contextlib
import os

from ..errors import NetvizError, UsageError


class _ExitCalled(BaseException):
    """os._exit called by the model's code (raised in its place)."""


@contextlib.contextmanager
def user_code(label: str):
    """Run the body as the model's code: any escape from it is a UsageError
    naming LABEL; Ctrl-C stays Ctrl-C; the working directory is restored."""
    try:
        cwd = os.getcwd()
    except OSError:
        cwd = None
    real_exit = os._exit

    def refuse_exit(code=0):
        raise _ExitCalled(code)

    os._exit = refuse_exit
    try:
        yield
    except (NetvizError, KeyboardInterrupt, MemoryError, RecursionError):
        raise
    except _ExitCalled as exc:
        raise UsageError(f"{label}: the model's code called os._exit({exc.args[0]!r}); "
                         "netviz cannot draw a model that ends the program") from None
    except SystemExit as exc:
        raise UsageError(f"{label}: the model's code called sys.exit({exc.code!r}); "
                         "netviz cannot draw a model that ends the program") from None
    except BaseException as exc:  # noqa: BLE001 - user code may raise anything at all
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise UsageError(f"{label}: the model's code raised {type(exc).__name__}"
                         + (f": {first}" if first else "")) from None
    finally:
        os._exit = real_exit
        if cwd is not None:
            with contextlib.suppress(OSError):
                if os.getcwd() != cwd:
                    os.chdir(cwd)
