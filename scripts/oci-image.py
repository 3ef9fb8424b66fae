#!/usr/bin/env python3
"""Assemble a single-layer OCI image archive from files on this machine, without a
container daemon and without pulling a base image.

The archive is an OCI image layout in a tar file (oci-layout, index.json, blobs/sha256/...)
with a Docker `manifest.json` beside it, so all of these load it:

    ctr -n k8s.io images import larum-engine.tar      # containerd (the test node)
    skopeo copy oci-archive:larum-engine.tar docker://REGISTRY/larum-engine:TAG
    crane push larum-engine.tar REGISTRY/larum-engine:TAG
    docker load -i larum-engine.tar

The output is reproducible: the same inputs give the same bytes (every timestamp is
SOURCE_DATE_EPOCH, default 0; files are owned by root unless --mkdir says otherwise).

Example:
    scripts/oci-image.py --ref ghcr.io/larum-dev/larum-engine:0.1.0 --out engine.tar \\
        --user 65532:65532 --entrypoint /usr/bin/larum-engine --cmd --storage.path=/data \\
        --port 9093/tcp --workdir /data --file target/larum-engine=/usr/bin/larum-engine:0755 \\
        --mkdir /data:0755:65532:65532

`--inspect FILE` prints the image config (the `config` object: User, Entrypoint, ...) and
the layer's file list of an archive this script wrote, as JSON.
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import stat
import sys
import tarfile

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


class UsageError(Exception):
    """A command-line value that cannot be used; the message names the flag."""


def parse_mode(text, flag):
    try:
        return int(text, 8)
    except ValueError:
        raise UsageError(f"{flag}: mode {text!r} is not an octal number") from None


def split_pair(value, flag):
    if "=" not in value:
        raise UsageError(f"{flag} {value!r}: expected SRC=DEST")
    src, dest = value.split("=", 1)
    if not dest.startswith("/"):
        raise UsageError(f"{flag} {value!r}: destination must be an absolute path")
    return src, dest


class Layer:
    """The root filesystem, built up entry by entry and written as one tar."""

    def __init__(self, epoch):
        self.epoch = epoch
        self.entries = {}  # path without leading slash -> (TarInfo, bytes or None)

    def _info(self, path, kind, mode, uid=0, gid=0):
        info = tarfile.TarInfo(path)
        info.type = kind
        info.mode = mode
        info.uid, info.gid = uid, gid
        info.uname = info.gname = ""
        info.mtime = self.epoch
        return info

    def _parents(self, path):
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            parent = "/".join(parts[:i])
            if parent and parent not in self.entries:
                self.entries[parent] = (self._info(parent, tarfile.DIRTYPE, 0o755), None)

    def add_dir(self, dest, mode=0o755, uid=0, gid=0):
        path = dest.strip("/")
        self._parents(path)
        self.entries[path] = (self._info(path, tarfile.DIRTYPE, mode, uid, gid), None)

    def add_bytes(self, dest, data, mode=0o644):
        path = dest.strip("/")
        self._parents(path)
        info = self._info(path, tarfile.REGTYPE, mode)
        info.size = len(data)
        self.entries[path] = (info, data)

    def add_symlink(self, dest, target):
        path = dest.strip("/")
        self._parents(path)
        info = self._info(path, tarfile.SYMTYPE, 0o777)
        info.linkname = target
        self.entries[path] = (info, None)

    def add_file(self, src, dest, mode=None):
        try:
            st = os.stat(src)
            with open(src, "rb") as f:
                data = f.read()
        except OSError as e:
            raise UsageError(f"--file {src}: {e.strerror}") from None
        self.add_bytes(dest, data, mode if mode is not None else stat.S_IMODE(st.st_mode))

    def add_tree(self, src, dest):
        if not os.path.isdir(src):
            raise UsageError(f"--dir {src}: not a directory")
        self.add_dir(dest)
        for root, dirs, files in os.walk(src):
            dirs.sort()
            rel = os.path.relpath(root, src)
            base = dest.rstrip("/") if rel == "." else f"{dest.rstrip('/')}/{rel}"
            for name in dirs + sorted(files):
                full = os.path.join(root, name)
                target = f"{base}/{name}"
                if os.path.islink(full):
                    self.add_symlink(target, os.readlink(full))
                elif os.path.isdir(full):
                    self.add_dir(target, stat.S_IMODE(os.stat(full).st_mode))
                else:
                    self.add_file(full, target)

    def tar_bytes(self):
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for path in sorted(self.entries):
                info, data = self.entries[path]
                tar.addfile(info, io.BytesIO(data) if data is not None else None)
        return out.getvalue()


def passwd_files(user):
    uid, _, gid = user.partition(":")
    gid = gid or uid
    if not (uid.isdigit() and gid.isdigit()):
        raise UsageError(f"--user {user!r}: expected numeric UID:GID")
    passwd = "root:x:0:0:root:/root:/sbin/nologin\n"
    group = "root:x:0:\n"
    if uid != "0":
        passwd += f"nonroot:x:{uid}:{gid}:nonroot:/home/nonroot:/sbin/nologin\n"
    if gid != "0":
        group += f"nonroot:x:{gid}:\n"
    return passwd.encode(), group.encode(), int(uid), int(gid)


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def build(args):
    if ":" not in args.ref.rsplit("/", 1)[-1]:
        raise UsageError(f"--ref {args.ref!r}: expected NAME:TAG")
    tag = args.ref.rsplit(":", 1)[1]
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    layer = Layer(epoch)
    layer.add_dir("/tmp", 0o1777)
    if args.user:
        passwd, group, uid, gid = passwd_files(args.user)
        layer.add_bytes("/etc/passwd", passwd)
        layer.add_bytes("/etc/group", group)
        layer.add_dir("/home/nonroot", 0o700, uid, gid)
    for value in args.file:
        src, dest = split_pair(value, "--file")
        mode = None
        if ":" in dest:
            dest, mode_text = dest.rsplit(":", 1)
            mode = parse_mode(mode_text, "--file")
        layer.add_file(src, dest, mode)
    for value in args.dir:
        src, dest = split_pair(value, "--dir")
        layer.add_tree(src, dest)
    for value in args.mkdir:
        dest, *rest = value.split(":")
        mode = parse_mode(rest[0], "--mkdir") if rest else 0o755
        uid = int(rest[1]) if len(rest) > 1 else 0
        gid = int(rest[2]) if len(rest) > 2 else uid
        layer.add_dir(dest, mode, uid, gid)
    for value in args.symlink:
        src, dest = split_pair(value, "--symlink")
        layer.add_symlink(dest, src)

    layer_tar = layer.tar_bytes()
    layer_gz = gzip.compress(layer_tar, compresslevel=9, mtime=0)
    env = [DEFAULT_PATH] + args.env
    created = "1970-01-01T00:00:00Z" if epoch == 0 else None
    if created is None:
        import datetime

        created = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": created,
        "config": {"Env": env},
        "rootfs": {"type": "layers", "diff_ids": [sha256(layer_tar)]},
        "history": [{"created": created, "created_by": "scripts/oci-image.py"}],
    }
    c = config["config"]
    if args.user:
        c["User"] = args.user
    if args.entrypoint:
        c["Entrypoint"] = args.entrypoint
    if args.cmd:
        c["Cmd"] = args.cmd
    if args.port:
        c["ExposedPorts"] = {p if "/" in p else f"{p}/tcp": {} for p in args.port}
    if args.workdir:
        c["WorkingDir"] = args.workdir
    if args.label:
        c["Labels"] = dict(split_label(v) for v in args.label)
    config_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": {"mediaType": MEDIA_CONFIG, "digest": sha256(config_bytes), "size": len(config_bytes)},
        "layers": [{"mediaType": MEDIA_LAYER, "digest": sha256(layer_gz), "size": len(layer_gz)}],
    }
    manifest_bytes = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    index = {
        "schemaVersion": 2,
        "mediaType": MEDIA_INDEX,
        "manifests": [
            {
                "mediaType": MEDIA_MANIFEST,
                "digest": sha256(manifest_bytes),
                "size": len(manifest_bytes),
                "platform": {"architecture": "amd64", "os": "linux"},
                "annotations": {
                    "io.containerd.image.name": args.ref,
                    "org.opencontainers.image.ref.name": tag,
                },
            }
        ],
    }
    blob = lambda data: "blobs/sha256/" + hashlib.sha256(data).hexdigest()  # noqa: E731
    docker_manifest = [
        {"Config": blob(config_bytes), "RepoTags": [args.ref], "Layers": [blob(layer_gz)]}
    ]
    files = [
        ("oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode()),
        ("index.json", json.dumps(index, sort_keys=True, separators=(",", ":")).encode()),
        ("manifest.json", json.dumps(docker_manifest, separators=(",", ":")).encode()),
        (blob(config_bytes), config_bytes),
        (blob(manifest_bytes), manifest_bytes),
        (blob(layer_gz), layer_gz),
    ]
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp"
    with tarfile.open(tmp, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for d in ("blobs", "blobs/sha256"):
            info = tarfile.TarInfo(d)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, epoch
            tar.addfile(info)
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, epoch
            tar.addfile(info, io.BytesIO(data))
    os.replace(tmp, args.out)
    print(
        f"oci-image: {args.ref} -> {args.out}: {os.path.getsize(args.out)} bytes "
        f"(layer {len(layer_gz)} compressed, {len(layer_tar)} uncompressed)"
    )


def split_label(value):
    if "=" not in value:
        raise UsageError(f"--label {value!r}: expected KEY=VALUE")
    return tuple(value.split("=", 1))


def inspect(path):
    with tarfile.open(path) as tar:
        index = json.load(tar.extractfile("index.json"))
        desc = index["manifests"][0]
        manifest = json.load(tar.extractfile("blobs/sha256/" + desc["digest"].split(":")[1]))
        config = json.load(
            tar.extractfile("blobs/sha256/" + manifest["config"]["digest"].split(":")[1])
        )
        files = []
        for layer in manifest["layers"]:
            data = gzip.decompress(tar.extractfile("blobs/sha256/" + layer["digest"].split(":")[1]).read())
            with tarfile.open(fileobj=io.BytesIO(data)) as lt:
                files += [
                    {"path": "/" + m.name, "mode": oct(m.mode), "uid": m.uid, "gid": m.gid, "size": m.size}
                    for m in lt.getmembers()
                ]
    print(
        json.dumps(
            {"ref": desc["annotations"].get("io.containerd.image.name"), "config": config["config"], "files": files},
            indent=2,
        )
    )


def main():
    parser = argparse.ArgumentParser(
        description="Assemble an OCI image archive from local files (no daemon, no base image).",
        allow_abbrev=False,
    )
    parser.add_argument("--ref", help="image name and tag, e.g. ghcr.io/larum-dev/larum-engine:0.1.0")
    parser.add_argument("--out", help="the archive to write")
    parser.add_argument("--inspect", metavar="FILE", help="print an archive's config and files, then exit")
    parser.add_argument("--user", help="UID:GID to run as (adds /etc/passwd and /etc/group)")
    # `--cmd --flag=x` must take the flag as a value: parsed by hand in argv_values below.
    parser.add_argument("--entrypoint", action="append", default=[], help="entrypoint argument (repeat)")
    parser.add_argument("--cmd", action="append", default=[], help="default argument (repeat)")
    parser.add_argument("--port", action="append", default=[], help="exposed port, e.g. 9093/tcp")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE (PATH is always set)")
    parser.add_argument("--workdir", help="working directory")
    parser.add_argument("--label", action="append", default=[], help="KEY=VALUE")
    parser.add_argument("--file", action="append", default=[], help="SRC=DEST[:MODE]")
    parser.add_argument("--dir", action="append", default=[], help="SRC=DEST: a directory tree")
    parser.add_argument("--mkdir", action="append", default=[], help="DEST[:MODE[:UID[:GID]]]")
    parser.add_argument("--symlink", action="append", default=[], help="TARGET=LINK")
    argv = []
    raw = sys.argv[1:]
    i = 0
    # Let `--cmd --storage.path=/x` and `--entrypoint -x` carry values that start with '-'.
    while i < len(raw):
        if raw[i] in ("--cmd", "--entrypoint") and i + 1 < len(raw):
            argv.append(f"{raw[i]}={raw[i + 1]}")
            i += 2
        else:
            argv.append(raw[i])
            i += 1
    args = parser.parse_args(argv)
    try:
        if args.inspect:
            inspect(args.inspect)
        elif not args.ref or not args.out:
            raise UsageError("--ref and --out are required (or --inspect FILE)")
        else:
            build(args)
    except UsageError as e:
        print(f"oci-image: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
