"""Runs moto's server on loopback for Meridian's tests, until the test process exits.

Usage: python3 moto_harness.py PORT (not moto.py: that name would shadow the moto package). Prints "ready" once the server answers. Exits (stopping the
server) when its parent process goes away, so no server outlives the tests.
"""
import os
import sys
import time

from moto.server import ThreadedMotoServer

server = ThreadedMotoServer(ip_address="127.0.0.1", port=int(sys.argv[1]), verbose=False)
server.start()
print("ready", flush=True)
parent = os.getppid()
while os.getppid() == parent:
    time.sleep(0.5)
server.stop()
