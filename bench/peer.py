"""The benchmark's Python peer: the same work as Cairn's pipeline on the same files, the way a Python team
would write it — pydicom (+ GDCM for JPEG-LS) to read and decode, numpy for rescale / VOI window /
normalisation, torch for the bilinear resize and the network (torchvision ResNet-18 or DenseNet-121 with the
very weights of Cairn's ONNX file, loaded by name from a raw float32 dump), on the CPU or on CUDA, batches of
the same size. Best of `repeat` passes per folder. Prints one JSON object.

Where pydicom is missing (a bare GPU host), uncompressed explicit-VR-little-endian files — what the bench
generates — are read by a minimal tag walker below (reported as "decoder": "minimal"); anything else is an
error for that folder.

usage: peer.py CONFIG.json   {model, weights: {bin, index}, manifest, batch, threads, device, repeat, dirs}
"""
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torchvision

try:
    import pydicom
except ImportError:  # depends on the host
    pydicom = None
if os.environ.get("CAIRN_PEER_MINIMAL_READER"):  # to test the fallback where pydicom is installed
    pydicom = None


class Minimal:
    """Just enough of an explicit VR little endian Part 10 file for the bench's own slices."""

    LONG = {b"OB", b"OW", b"OF", b"SQ", b"UT", b"UN", b"OD", b"OL", b"UC", b"UR", b"OV"}

    def __init__(self, path):
        data = open(path, "rb").read()
        if data[128:132] != b"DICM":
            raise ValueError("not DICOM")
        pos, tags = 132, {}
        while pos + 8 <= len(data):
            group, elem = struct.unpack_from("<HH", data, pos)
            vr = data[pos + 4:pos + 6]
            if vr in self.LONG:
                (length,) = struct.unpack_from("<I", data, pos + 8)
                start = pos + 12
            else:
                (length,) = struct.unpack_from("<H", data, pos + 6)
                start = pos + 8
            value = data[start:start + length]
            tags[(group, elem)] = (vr, value)
            if (group, elem) == (0x0002, 0x0010) and not value.rstrip(b"\0 ").endswith(b"1.2.840.10008.1.2.1"):
                raise ValueError("minimal reader: explicit VR little endian only")
            if (group, elem) == (0x7FE0, 0x0010):
                break
            pos = start + length
        us = lambda t: struct.unpack("<H", tags[t][1][:2])[0]
        ds = lambda t, d: float(tags[t][1].decode().strip("\0 ")) if t in tags else d
        self.StudyInstanceUID = tags[(0x0020, 0x000D)][1].decode().strip("\0 ")
        self.RescaleSlope = ds((0x0028, 0x1053), 1.0)
        self.RescaleIntercept = ds((0x0028, 0x1052), 0.0)
        rows, cols, bits = us((0x0028, 0x0010)), us((0x0028, 0x0011)), us((0x0028, 0x0101))
        signed = us((0x0028, 0x0103)) == 1
        px = np.frombuffer(tags[(0x7FE0, 0x0010)][1], dtype="<i2" if signed else "<u2")[: rows * cols]
        self.pixel_array = (px & ((1 << bits) - 1)).reshape(rows, cols)

    def get(self, key, default):
        return getattr(self, key, default)


def read(path):
    return pydicom.dcmread(path) if pydicom else Minimal(path)


def build(name, weights):
    net = torchvision.models.densenet121(num_classes=1) if name == "densenet121" else torchvision.models.resnet18(num_classes=1)
    index = json.load(open(weights["index"]))
    blob = np.fromfile(weights["bin"], dtype=np.uint8)
    state = net.state_dict()
    for k in state:
        if k.endswith("num_batches_tracked"):
            continue
        e = index[k]
        n = int(np.prod(e["dims"])) if e["dims"] else 1
        arr = blob[e["offset"]:e["offset"] + 4 * n].view("<f4").reshape(e["dims"])
        state[k] = torch.from_numpy(arr.copy())
    net.load_state_dict(state)
    return net.eval()


def main():
    cfg = json.load(open(sys.argv[1]))
    batch, threads, repeat = int(cfg["batch"]), int(cfg["threads"]), int(cfg.get("repeat", 1))
    dev = torch.device(cfg.get("device", "cpu"))
    torch.set_num_threads(threads)
    manifest = json.load(open(cfg["manifest"]))
    inp = manifest["input"]
    size, center, width = inp["height"], inp["window"]["center"], inp["window"]["width"]
    mean, std = inp["normalize"]["mean"], inp["normalize"]["std"]
    net = build(cfg["model"], cfg["weights"]).to(dev)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)

    c, w = center - 0.5, width - 1.0
    out = {}
    for d in cfg["dirs"]:
        files = sorted(os.path.join(d, f) for f in os.listdir(d))
        best = None
        for _ in range(repeat):
            t = {"read_decode": 0.0, "preprocess": 0.0, "inference": 0.0}
            scores = {}
            pending, uids = [], []

            def flush():
                t0 = time.perf_counter()
                with torch.no_grad():
                    logits = net(torch.stack(pending)).squeeze(1)
                s = torch.sigmoid(logits).tolist()  # waits for the device
                t["inference"] += time.perf_counter() - t0
                for u, v in zip(uids, s):
                    scores[u] = v
                pending.clear()
                uids.clear()

            error = None
            start = time.perf_counter()
            try:
                for f in files:
                    t0 = time.perf_counter()
                    ds = read(f)
                    px = ds.pixel_array
                    t1 = time.perf_counter()
                    hu = px.astype(np.float32) * float(ds.get("RescaleSlope", 1)) + float(ds.get("RescaleIntercept", 0))
                    v = np.clip((hu - c) / w + 0.5, 0.0, 1.0)
                    v = (v - mean) / std
                    x = torch.from_numpy(v.astype(np.float32))[None, None].to(dev)
                    x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
                    pending.append(x[0].expand(3, size, size))
                    uids.append(ds.StudyInstanceUID)
                    t["read_decode"] += t1 - t0
                    t["preprocess"] += time.perf_counter() - t1
                    if len(pending) == batch:
                        flush()
                if pending:
                    flush()
            except Exception as e:  # e.g. no JPEG-LS decoder for pydicom on this host
                error = type(e).__name__ + ": " + str(e).split("\n")[0][:200]
            wall = time.perf_counter() - start
            run = {
                "images": len(scores),
                "seconds": wall,
                "img_s": len(scores) / wall if scores and not error else None,
                "stages": t,
                "error": error,
                "scores": scores,
            }
            if best is None or (run["img_s"] or 0) > (best["img_s"] or 0):
                best = run
            if error:
                break

        # The network alone on ready input (same batch): the peer's ceiling.
        x = torch.randn(batch, 3, size, size, device=dev)
        with torch.no_grad():
            net(x)
            sync()
            net_best = 0.0
            for _ in range(repeat):
                t0 = time.perf_counter()
                done = 0
                while done < len(files):
                    net(x[: min(batch, len(files) - done)])
                    done += batch
                sync()
                net_best = max(net_best, len(files) / (time.perf_counter() - t0))
        best["inference_only_img_s"] = net_best
        best["device"] = str(dev) + (" " + torch.cuda.get_device_name(0) if dev.type == "cuda" else "")
        best["decoder"] = "pydicom" if pydicom else "minimal"
        out[os.path.basename(d)] = best
    print(json.dumps(out))


main()
