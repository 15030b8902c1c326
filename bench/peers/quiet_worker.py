"""gunicorn worker class for the peer: uvicorn's UvicornWorker, minus the access log.

Owns only the uvicorn settings that gunicorn's `-k uvicorn.workers.UvicornWorker`
leaves on "auto": uvloop and httptools named explicitly (as on the uvicorn
command line) and no access log, so that gunicorn+uvicorn and bare uvicorn
run the same event loop, parser and logging. Everything else is
UvicornWorker's own behaviour; nothing here may change what a request does.
"""

from uvicorn.workers import UvicornWorker


class Worker(UvicornWorker):
    CONFIG_KWARGS = {"loop": "uvloop", "http": "httptools", "access_log": False}
