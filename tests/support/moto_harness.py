"""Runs moto's server on loopback for Meridian's tests, until the test process exits.

Usage: python moto_harness.py PORT                        (moto imported from this interpreter)
       python3 moto_harness.py --exec MOTO_SERVER PORT   (an existing moto_server executable)

Not moto.py: that name would shadow the moto package. Prints "ready" once the server answers,
then "moto X.Y.Z" when it knows the version. Exits (stopping the server) when its parent
process goes away, so no server outlives the tests.
"""
import os
import socket
import subprocess
import sys
import time


def wait_for(port, proc=None, timeout=60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            sys.exit("moto_server exited with status %s" % proc.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit("moto's server did not answer on port %d within %d s" % (port, timeout))


def main():
    port = int(sys.argv[-1])
    parent = os.getppid()
    if "--exec" in sys.argv:
        server = sys.argv[sys.argv.index("--exec") + 1]
        proc = subprocess.Popen(
            [server, "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(port, proc)
        print("ready", flush=True)
        try:
            while os.getppid() == parent and proc.poll() is None:
                time.sleep(0.5)
        finally:
            proc.terminate()
        return
    import moto
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    wait_for(port)
    print("ready", flush=True)
    print("moto %s" % moto.__version__, flush=True)
    while os.getppid() == parent:
        time.sleep(0.5)
    server.stop()


main()
