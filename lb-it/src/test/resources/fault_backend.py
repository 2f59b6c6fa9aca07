"""A backend that can be killed, stopped, or made to misbehave: python3 fault_backend.py PORT NAME MODE.

MODE normal: GET /data?n=N answers N bytes (byte i is i % 251) with Content-Length, written in
16 KiB pieces with a short pause, so that a signal lands in the middle of a response.
MODE garbage: answers every connection with bytes that are not HTTP.
MODE reset: sends the status line, headers and half the body, then resets the connection.
"""
import socket
import struct
import sys
import threading
import time

PORT, NAME, MODE = int(sys.argv[1]), sys.argv[2], sys.argv[3]
PATTERN = bytes(i % 251 for i in range(251 * 66))


def body(n):
    while n > 0:
        piece = PATTERN[: min(n, 16 * 1024 - (16 * 1024) % 251)]
        yield piece
        n -= len(piece)


def read_head(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return None
        data += chunk
    return data.split(b"\r\n", 1)[0].decode("latin-1")


def serve(conn):
    with conn:
        while True:
            line = read_head(conn)
            if line is None:
                return
            if MODE == "garbage":
                conn.sendall(b"\x00\x01garbage that is not HTTP\r\n\r\n")
                return
            target = line.split(" ")[1]
            n = int(target.split("n=")[1]) if "n=" in target else 2
            head = ("HTTP/1.1 200 OK\r\nContent-Length: %d\r\nX-Backend: %s\r\n\r\n" % (n, NAME)).encode()
            conn.sendall(head)
            sent = 0
            for piece in body(n):
                if MODE == "reset" and sent >= n // 2:
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                conn.sendall(piece)
                sent += len(piece)
                time.sleep(0.002)


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", PORT))
server.listen(128)
print("listening", flush=True)
while True:
    c, _ = server.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
