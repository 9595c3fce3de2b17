"""Writes tests/coco/reference.json: a fixed set of ground truths and
detections, and the AP that pycocotools (PyPI) computes for them. The Rust
test compute/tests/coco_reference.rs checks our evaluator against it.

    python3 -m venv /tmp/coco && /tmp/coco/bin/pip install pycocotools numpy
    /tmp/coco/bin/python tests/coco/make_reference.py
"""
import json
import os

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

rng = np.random.RandomState(7)
images, annotations, detections = [], [], []
for image_id in range(1, 41):
    images.append({"id": image_id, "width": 96, "height": 96})
    for _ in range(rng.randint(1, 5)):
        w, h = float(rng.randint(6, 30)), float(rng.randint(14, 41))
        x, y = float(rng.randint(0, 96 - w)), float(rng.randint(0, 96 - h))
        cat = int(rng.randint(0, 10))
        annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": cat,
                            "bbox": [x, y, w, h], "area": w * h, "iscrowd": 0})
        # A detection near most objects, sometimes of the wrong class, and
        # sometimes a second, duplicate one.
        for _ in range(1 + (rng.rand() < 0.2)):
            if rng.rand() < 0.85:
                jitter = rng.normal(0, 1.2, 4)
                box = [x + jitter[0], y + jitter[1], max(1.0, w + jitter[2]), max(1.0, h + jitter[3])]
                label = cat if rng.rand() < 0.85 else int(rng.randint(0, 10))
                detections.append({"image_id": image_id, "category_id": label,
                                   "bbox": [round(v, 3) for v in box], "score": round(float(rng.rand()), 6)})
    for _ in range(rng.randint(0, 3)):  # false positives
        w, h = float(rng.randint(6, 30)), float(rng.randint(14, 41))
        detections.append({"image_id": image_id, "category_id": int(rng.randint(0, 10)),
                           "bbox": [float(rng.randint(0, 60)), float(rng.randint(0, 50)), w, h],
                           "score": round(float(rng.rand()) * 0.7, 6)})

gt = COCO()
gt.dataset = {"images": images, "annotations": annotations,
              "categories": [{"id": c, "name": str(c)} for c in range(10)]}
gt.createIndex()
dt = gt.loadRes(detections)
ev = COCOeval(gt, dt, "bbox")
ev.evaluate()
ev.accumulate()
ev.summarize()
from importlib.metadata import version
out = {"source": "pycocotools " + version("pycocotools"),
       "annotations": annotations, "detections": detections,
       "ap": ev.stats[0], "ap50": ev.stats[1], "ap75": ev.stats[2]}
with open(os.path.join(os.path.dirname(__file__), "reference.json"), "w") as f:
    json.dump(out, f, indent=1)
print("AP", ev.stats[0], "AP50", ev.stats[1], "AP75", ev.stats[2])
