"""Build the e2e guest's initramfs: a newc cpio archive written in Python.

Contents: /init (e2e/guest/init), a static busybox, the kernel modules that
9p over virtio needs (found with their dependencies from the modules' own
``depends=`` modinfo, in load order in /kmod/order) and the symlinks that let
the host's dynamically linked programs run once /usr is bound in.
"""

from __future__ import annotations

import os
import stat
from typing import Dict, Iterable, List, Optional, Tuple

# Modules the guest loads to mount the host over 9p (their dependencies are added).
ROOT_MODULES = ("virtio_pci", "9pnet_virtio", "9p")


def _modname(path: str) -> str:
    name = os.path.basename(path)
    for ext in (".ko", ".ko.xz", ".ko.zst", ".ko.gz"):
        if name.endswith(ext):
            name = name[: -len(ext)]
            break
    return name.replace("-", "_")


def module_index(module_dir: str) -> Dict[str, str]:
    """Map module name (with ``_``) to its .ko path under ``module_dir``."""
    index: Dict[str, str] = {}
    for dirpath, _dirs, files in os.walk(module_dir):
        for f in files:
            if f.endswith(".ko"):
                index[_modname(f)] = os.path.join(dirpath, f)
    return index


def module_depends(path: str) -> List[str]:
    """The ``depends=`` list from a module's .modinfo section."""
    with open(path, "rb") as f:
        data = f.read()
    key = b"\0depends="
    at = data.find(key)
    if at < 0:
        return []
    end = data.find(b"\0", at + len(key))
    value = data[at + len(key):end].decode("ascii")
    return [d.replace("-", "_") for d in value.split(",") if d]


def load_order(index: Dict[str, str], roots: Iterable[str] = ROOT_MODULES) -> List[str]:
    """Module names in an order where every module comes after its dependencies."""
    order: List[str] = []
    state: Dict[str, int] = {}

    def visit(name: str, chain: Tuple[str, ...]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            raise ValueError("module dependency cycle: %s" % " -> ".join(chain + (name,)))
        if name not in index:
            raise ValueError("module %s (needed by %s) is not in the kernel package"
                             % (name, chain[-1] if chain else "the guest"))
        state[name] = 1
        for dep in module_depends(index[name]):
            visit(dep, chain + (name,))
        state[name] = 2
        order.append(name)

    for root in roots:
        visit(root, ())
    return order


class Newc:
    """A minimal writer of the cpio "newc" format the kernel unpacks."""

    def __init__(self) -> None:
        self.parts: List[bytes] = []
        self.ino = 1

    def _entry(self, name: str, mode: int, data: bytes = b"", nlink: int = 1) -> None:
        name_b = name.encode() + b"\0"
        header = "070701" + "".join("%08X" % v for v in (
            self.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0, len(name_b), 0))
        self.ino += 1
        blob = header.encode() + name_b
        blob += b"\0" * (-len(blob) % 4)
        blob += data
        blob += b"\0" * (-len(blob) % 4)
        self.parts.append(blob)

    def directory(self, name: str) -> None:
        self._entry(name, stat.S_IFDIR | 0o755, nlink=2)

    def file(self, name: str, data: bytes, mode: int = 0o644) -> None:
        self._entry(name, stat.S_IFREG | mode, data)

    def symlink(self, name: str, target: str) -> None:
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def close(self) -> bytes:
        self._entry("TRAILER!!!", 0)
        return b"".join(self.parts)


def build(output: str, init_script: str, busybox: str, module_dir: Optional[str],
          roots: Iterable[str] = ROOT_MODULES) -> List[str]:
    """Write the initramfs to ``output``; return the modules in load order.

    ``module_dir`` None: a kernel with 9p and virtio built in, no modules at all
    (/kmod/order is then empty).
    """
    index = module_index(module_dir) if module_dir is not None else {}
    order = load_order(index, roots) if module_dir is not None else []
    arc = Newc()
    for d in ("bin", "kmod", "proc", "sys", "dev", "tmp", "host", "out", "usr", "etc"):
        arc.directory(d)
    arc.symlink("lib", "usr/lib")
    arc.symlink("lib64", "usr/lib64")
    arc.symlink("sbin", "bin")
    with open(busybox, "rb") as f:
        arc.file("bin/busybox", f.read(), 0o755)
    arc.symlink("bin/sh", "busybox")
    with open(init_script, "rb") as f:
        arc.file("init", f.read(), 0o755)
    names = []
    for name in order:
        base = os.path.basename(index[name])
        with open(index[name], "rb") as f:
            arc.file("kmod/" + base, f.read())
        names.append(base)
    arc.file("kmod/order", ("\n".join(names) + "\n").encode())
    tmp = output + ".tmp"
    with open(tmp, "wb") as f:
        f.write(arc.close())
    os.replace(tmp, output)
    return order


def is_static(path: str) -> Optional[bool]:
    """True when the ELF file at ``path`` has no program interpreter (static)."""
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 16)
    except OSError:
        return None
    if head[:4] != b"\x7fELF":
        return None
    return b"/lib64/ld-linux" not in head and b"ld-linux" not in head
