"""The first program inside a grading sandbox: drop rights, set limits, then start the kernel.

Run by bubblewrap as ``python -I -S confine.py [options] -- KERNEL COMMAND``. It imports the
standard library only (the sandbox's view of the rest is read-only and may be partial) and ends
in ``execv``, so the kernel starts as a fresh process with no capabilities left:

1. as root: become the unprivileged ``--uid``/``--gid`` (bubblewrap ran as root so that it could
   mount what root can read), then enter a new user namespace that maps only that user, so that
   the process limit counts this sandbox's processes alone;
2. forbid new user namespaces (a seccomp filter on ``unshare``/``clone``), so student code can
   never gain capabilities again;
3. set the limits: processes and threads, file size, no core dumps.

The address-space limit is set later, by the kernel's guard, once the chapter's own imports
are loaded (see ``autograder.guard``): the budget is then what the notebook may add to them.
"""

from __future__ import annotations

import ctypes
import os
import platform
import resource
import struct
import sys

CLONE_NEWUSER = 0x10000000
PR_SET_DUMPABLE = 4
PR_SET_SECCOMP = 22
PR_SET_NO_NEW_PRIVS = 38
SECCOMP_MODE_FILTER = 2
# audit architecture, unshare, clone (clone3 is the same number everywhere)
SYSCALLS = {"x86_64": (0xC000003E, 272, 56), "aarch64": (0xC00000B7, 97, 220)}
NR_CLONE3 = 435
EPERM, ENOSYS = 1, 38

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def become(uid: int, gid: int) -> None:
    """Switch for good to ``uid``/``gid`` and into a user namespace of our own."""
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    _check(_libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "prctl(PR_SET_DUMPABLE)")  # /proc/self/*
    _check(_libc.unshare(CLONE_NEWUSER), "unshare(CLONE_NEWUSER)")
    for name, text in (
        ("setgroups", "deny"),
        ("uid_map", f"{uid} {uid} 1"),
        ("gid_map", f"{gid} {gid} 1"),
    ):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)


def _bpf(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k)


def forbid_user_namespaces() -> None:
    """Install a seccomp filter: unshare/clone with CLONE_NEWUSER fail, clone3 is unavailable."""
    machine = platform.machine()
    if machine not in SYSCALLS:
        return
    audit, nr_unshare, nr_clone = SYSCALLS[machine]
    ld, jeq, jset, ret = 0x20, 0x15, 0x45, 0x06
    allow, errno = 0x7FFF0000, 0x00050000
    program = [
        _bpf(ld, 0, 0, 4),  # seccomp_data.arch
        _bpf(jeq, 1, 0, audit),
        _bpf(ret, 0, 0, allow),
        _bpf(ld, 0, 0, 0),  # seccomp_data.nr
        _bpf(jeq, 4, 0, NR_CLONE3),
        _bpf(jeq, 1, 0, nr_unshare),
        _bpf(jeq, 0, 3, nr_clone),
        _bpf(ld, 0, 0, 16),  # low word of args[0]: the flags of both calls
        _bpf(jset, 2, 1, CLONE_NEWUSER),
        _bpf(ret, 0, 0, errno | ENOSYS),  # clone3: glibc falls back to clone
        _bpf(ret, 0, 0, allow),
        _bpf(ret, 0, 0, errno | EPERM),
    ]
    buffer = ctypes.create_string_buffer(b"".join(program))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = SockFprog(len(program), ctypes.addressof(buffer))
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
    _check(_libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0), "seccomp")


def limit(processes: int, file_size: int) -> None:
    """Cap processes + threads of this sandbox, the size of any file it writes, core dumps."""
    if processes:
        resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
    if file_size:
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def main(argv: list[str]) -> None:
    split = argv.index("--")
    options = dict(arg.split("=", 1) for arg in argv[:split])
    command = argv[split + 1 :]
    if os.getuid() == 0:
        become(int(options["--uid"]), int(options["--gid"]))
    forbid_user_namespaces()
    limit(int(options.get("--processes", 0)), int(options.get("--file-size", 0)))
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
