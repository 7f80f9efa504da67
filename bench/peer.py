"""The benchmark's Python peer: the same work as Cairn's pipeline on the same files, the way a Python team
would write it — pydicom (+ GDCM for JPEG-LS) to read and decode, numpy for rescale / VOI window /
normalisation, torch for the bilinear resize and the network (torchvision ResNet-18 with the very weights
of Cairn's ONNX file, loaded by name), CPU, batches of the same size. Prints one JSON object.

usage: peer.py MODEL.onnx MANIFEST.json BATCH THREADS DIR [DIR ...]
"""
import json
import os
import sys
import time

import numpy as np
import onnx
import pydicom
import torch
import torchvision
from onnx import numpy_helper


def main():
    model_path, manifest_path, batch, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    dirs = sys.argv[5:]
    torch.set_num_threads(threads)
    manifest = json.load(open(manifest_path))
    inp = manifest["input"]
    size, center, width = inp["height"], inp["window"]["center"], inp["window"]["width"]
    mean, std = inp["normalize"]["mean"], inp["normalize"]["std"]

    net = torchvision.models.resnet18(num_classes=1)
    weights = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in onnx.load(model_path).graph.initializer}
    state = net.state_dict()
    for k in state:
        if k.endswith("num_batches_tracked"):
            continue
        state[k] = weights[k]
    net.load_state_dict(state)
    net.eval()

    c, w = center - 0.5, width - 1.0
    out = {}
    for d in dirs:
        files = sorted(os.path.join(d, f) for f in os.listdir(d))
        t = {"read_decode": 0.0, "preprocess": 0.0, "inference": 0.0}
        scores = {}
        start = time.perf_counter()
        pending, uids = [], []

        def flush():
            t0 = time.perf_counter()
            with torch.no_grad():
                logits = net(torch.stack(pending)).squeeze(1)
            s = torch.sigmoid(logits).tolist()
            t["inference"] += time.perf_counter() - t0
            for u, v in zip(uids, s):
                scores[u] = v
            pending.clear()
            uids.clear()

        error = None
        try:
            for f in files:
                t0 = time.perf_counter()
                ds = pydicom.dcmread(f)
                px = ds.pixel_array
                t1 = time.perf_counter()
                hu = px.astype(np.float32) * float(ds.get("RescaleSlope", 1)) + float(ds.get("RescaleIntercept", 0))
                v = np.clip((hu - c) / w + 0.5, 0.0, 1.0)
                v = (v - mean) / std
                x = torch.from_numpy(v.astype(np.float32))[None, None]
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
        out[os.path.basename(d)] = {
            "images": len(scores),
            "seconds": wall,
            "img_s": len(scores) / wall if scores and not error else None,
            "stages": t,
            "error": error,
            "scores": scores,
        }
    print(json.dumps(out))


main()
