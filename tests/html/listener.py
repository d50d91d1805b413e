"""listener.py — a local HTTP listener that records every request it gets, so a test can
prove a page asked for nothing. Writes its port to PORTFILE once listening, then appends each
request line to LOG. Runs until killed. usage: python3 listener.py PORTFILE LOG"""
import os
import socket
import sys

srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(16)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % srv.getsockname()[1])
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    conn, _ = srv.accept()
    conn.settimeout(5)
    try:
        line = conn.makefile("rb").readline().decode("latin-1").strip()
    except OSError:
        line = "(connection without a request line)"
    with open(sys.argv[2], "a") as log:
        log.write((line or "(empty request)") + "\n")
    try:
        conn.sendall(b"HTTP/1.0 204 No Content\r\nContent-Length: 0\r\n\r\n")
    except OSError:
        pass
    conn.close()
