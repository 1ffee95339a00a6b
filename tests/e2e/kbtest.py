"""Shared by the Python end-to-end scripts: a private environment for kodebase, a tally of
checks, and free loopback ports."""
import os
import socket


def private_env(work, **extra):
    """The environment of a test's kodebase processes: HOME, XDG folders and the runtime
    directory under `work`, no system git config, no inherited actor."""
    env = dict(os.environ, HOME=f"{work}/home", XDG_CONFIG_HOME=f"{work}/config",
               XDG_STATE_HOME=f"{work}/state", XDG_CACHE_HOME=f"{work}/cache",
               KODEBASE_RUNTIME_DIR=f"{work}/run", GIT_CONFIG_NOSYSTEM="1", **extra)
    env.pop("KODEBASE_ACTOR", None)
    os.makedirs(env["HOME"], exist_ok=True)
    return env


class Checks:
    """Passed and failed checks; each failure is printed as it happens."""

    def __init__(self):
        self.passes = 0
        self.failures = []

    def __call__(self, ok, what):
        if ok:
            self.passes += 1
        else:
            self.failures.append(what)
            print("FAIL:", what, flush=True)

    def finish(self):
        """Prints the tally; the exit status for the script."""
        print(f"{self.passes} passed, {len(self.failures)} failed")
        return 1 if self.failures else 0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
