#!/usr/bin/env python3
"""Builds an image archive in the `docker save` format (which `docker load`, `podman load` and
`ctr images import` all read) from a root filesystem directory, without any network.

usage: mkimage.py ROOTFS NAME:TAG OUT.tar [ENTRYPOINT...]"""
import hashlib
import io
import json
import os
import sys
import tarfile


def add_bytes(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0
    tar.addfile(info, io.BytesIO(data))


def main():
    rootfs, ref, out = sys.argv[1:4]
    entrypoint = sys.argv[4:]
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w", format=tarfile.PAX_FORMAT) as t:
        for entry in sorted(os.listdir(rootfs)):
            t.add(os.path.join(rootfs, entry), arcname=entry, recursive=True)
    layer_bytes = layer.getvalue()
    diff_id = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            **({"Entrypoint": entrypoint} if entrypoint else {"Cmd": ["sh"]}),
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "hako tests: mkimage.py"}],
    }
    config_bytes = json.dumps(config, sort_keys=True).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    layer_dir = diff_id.split(":")[1]
    manifest = [{"Config": config_name, "RepoTags": [ref], "Layers": [layer_dir + "/layer.tar"]}]
    with tarfile.open(out, "w") as t:
        add_bytes(t, config_name, config_bytes)
        add_bytes(t, layer_dir + "/layer.tar", layer_bytes)
        add_bytes(t, "manifest.json", json.dumps(manifest).encode())
        name, tag = ref.rsplit(":", 1)
        add_bytes(t, "repositories", json.dumps({name: {tag: layer_dir}}).encode())


if __name__ == "__main__":
    main()
