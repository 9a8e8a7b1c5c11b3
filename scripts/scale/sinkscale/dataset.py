"""sinktrain dataset directories (data/manifest.go, data/loader_dataset.go).

A prepared directory holds manifest.json, tokenizer.json and Arrow IPC shards
(one column input_ids: list<int32>, one row per document). open_dataset checks
the manifest (format, version, file names, splits, sha256 of the tokenizer
and of every shard, rows and tokens) and maps the shards with pyarrow; a split
is a sampling.Tokens over the shards' value buffers, read in place.
"""

import hashlib
import json
import os
import re

from .sampling import Tokens

MANIFEST = "manifest.json"
FORMAT, VERSION = "sinktrain-data", 1


class DataError(ValueError):
    """A bad dataset; str() is the one-line message."""


def _check_file(field, name, digest):
    if not isinstance(name, str) or not name or name != os.path.basename(name) or name in (".", "..") or "/" in name or "\\" in name:
        raise DataError("manifest: %s %r must be a file name inside the dataset directory" % (field, name))
    if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", digest):
        raise DataError("manifest: %s %r: sha256 %r is not 64 hex digits" % (field, name, digest))


def read_manifest(d):
    """ReadManifest + Validate."""
    p = os.path.join(d, MANIFEST)
    try:
        with open(p, "rb") as f:
            b = f.read((16 << 20) + 1)
    except FileNotFoundError:
        raise DataError("data: %s: no %s (expected a directory written by sinktrain prepare)" % (d, MANIFEST))
    except OSError as e:
        raise DataError("data: %s" % e)
    if len(b) > 16 << 20:
        raise DataError("data: %s is larger than %d bytes" % (p, 16 << 20))
    try:
        m = json.loads(b)
    except ValueError as e:
        raise DataError("data: %s: manifest: %s" % (p, e))
    if not isinstance(m, dict):
        raise DataError("data: %s: manifest: expected a JSON object" % p)
    if m.get("format") != FORMAT:
        raise DataError("data: %s: manifest: format %r, want %r" % (p, m.get("format"), FORMAT))
    if m.get("version") != VERSION:
        raise DataError("data: %s: manifest: version %r, want %d" % (p, m.get("version"), VERSION))
    tok = m.get("tokenizer") or {}
    try:
        if tok.get("file"):
            _check_file("tokenizer.file", tok["file"], tok.get("sha256"))
        shards = m.get("shards") or []
        if not shards:
            raise DataError("manifest: no shards")
        seen = set()
        for i, s in enumerate(shards):
            f = "shards[%d]" % i
            _check_file(f + ".file", s.get("file"), s.get("sha256"))
            if s["file"] in seen:
                raise DataError("manifest: %s.file %r listed twice" % (f, s["file"]))
            seen.add(s["file"])
            if s.get("split") not in ("train", "val"):
                raise DataError("manifest: %s.split %r, want 'train' or 'val'" % (f, s.get("split")))
            r, t = s.get("rows"), s.get("tokens")
            if not isinstance(r, int) or not isinstance(t, int) or r < 0 or t < 0 or t < r:
                raise DataError("manifest: %s: rows %r, tokens %r are inconsistent" % (f, r, t))
    except DataError as e:
        raise DataError("data: %s: %s" % (p, e))
    return m


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 22)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def check_sum(path, want):
    try:
        got = sha256_file(path)
    except OSError as e:
        raise DataError("data: %s" % e)
    if got.lower() != want.lower():
        raise DataError("data: %s: sha256 %s does not match the manifest's %s (file changed or corrupt; re-run sinktrain prepare)" % (path, got[:12], want))


def verify(d):
    """The manifest plus every checksum, without reading shards (no pyarrow needed)."""
    m = read_manifest(d)
    if m["tokenizer"].get("file"):
        check_sum(os.path.join(d, m["tokenizer"]["file"]), m["tokenizer"]["sha256"])
    for s in m["shards"]:
        check_sum(os.path.join(d, s["file"]), s["sha256"])
    return m


class Dataset:
    """An opened, verified dataset directory."""

    def __init__(self, d, manifest=None):
        """manifest: the result of verify(d) when the caller already checked the sums."""
        if not os.path.isdir(d):
            raise DataError("data: %s is not a directory (expected one written by sinktrain prepare)" % d)
        self.path = d
        self.manifest = manifest or verify(d)
        tf = self.manifest["tokenizer"].get("file")
        self.tokenizer_path = os.path.join(d, tf) if tf else None
        self._keep = []  # memory maps and readers the segments view

    def has_split(self, name):
        return any(s["split"] == name for s in self.manifest["shards"])

    def split(self, name):
        """The packed token stream of a split as sampling.Tokens of numpy int32 views."""
        import pyarrow as pa  # lazily: only the trainer reads shards
        segs = []
        for s in self.manifest["shards"]:
            if s["split"] != name:
                continue
            p = os.path.join(self.path, s["file"])
            src = pa.memory_map(p, "r")
            try:
                try:
                    rd = pa.ipc.open_file(src)
                    batches = [rd.get_batch(i) for i in range(rd.num_record_batches)]
                except pa.ArrowInvalid:
                    src.seek(0)
                    batches = list(pa.ipc.open_stream(src))
            except pa.ArrowException as e:
                raise DataError("data: %s: not an Arrow IPC file: %s" % (p, e))
            rows = toks = 0
            for b in batches:
                if "input_ids" not in b.schema.names:
                    raise DataError("data: %s: no input_ids column (columns: %s)" % (p, ", ".join(b.schema.names)))
                col = b.column("input_ids")
                if col.null_count:
                    raise DataError("data: %s: input_ids has null rows" % p)
                vals = col.flatten()
                if vals.type != pa.int32():
                    raise DataError("data: %s: input_ids is list<%s>, expected list<int32>" % (p, vals.type))
                arr = vals.to_numpy(zero_copy_only=True)
                rows += len(col)
                toks += len(arr)
                segs.append(arr)
            if rows != s["rows"] or toks != s["tokens"]:
                raise DataError("data: %s: %d rows, %d tokens, the manifest says %d, %d" % (p, rows, toks, s["rows"], s["tokens"]))
            self._keep.append((src, batches))
        if not segs and not self.has_split(name):
            raise DataError("data: %s has no %r split" % (self.path, name))
        return Tokens(segs)


def check_ids(ds, split, toks, vocab):
    """train.checkIDs: every id in [0, vocab), before any step runs."""
    pos = 0
    for seg in toks.segs:
        if len(seg):
            lo, hi = int(seg.min()), int(seg.max())
            if lo < 0 or hi >= vocab:
                import numpy as np
                bad = int(np.nonzero((seg < 0) | (seg >= vocab))[0][0])
                raise DataError("data: %s: %s split: token id %d at position %d is outside the vocabulary [0, %d) (tokenized with another tokenizer?)"
                                % (ds.path, split, int(seg[bad]), pos + bad, vocab))
        pos += len(seg)
