#!/usr/bin/env python3
"""Writes smart_turn_reference.json: pipecat's numpy log-mel front end and ONNX Runtime's probability for a
few clips of the models folder, the reference the Rust front end and tract are checked against.

Run by hand (never by the build): pip install pipecat-ai==1.14.0 onnxruntime numpy, then
    python3 make_smart_turn_reference.py MODELS_DIR SMART_TURN_ONNX
"""

import json
import sys
import wave

import numpy as np
import onnxruntime as ort
from pipecat.audio.turn.smart_turn._whisper_features import compute_whisper_log_mel_features

STEP = 20
CLIPS = [
    ("speech-jfk/jfk.wav", 1.0),
    ("speech-jfk/jfk.wav", 0.5),
    ("speech-real/sense_and_sensibility_01_austen_64kb-0890.wav", 1.0),
    ("speech-real/sense_and_sensibility_01_austen_64kb-0890.wav", 0.5),
]


def read(path):
    with wave.open(path) as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32) / 32768


def main(models, model):
    session = ort.InferenceSession(model)
    cases = []
    for rel, fraction in CLIPS:
        audio = read(f"{models}/{rel}")
        audio = audio[: int(len(audio) * fraction)]
        last = audio[-128000:] if len(audio) > 128000 else np.pad(audio, (128000 - len(audio), 0))
        features = compute_whisper_log_mel_features(last)
        p = float(session.run(None, {"input_features": features[None]})[0][0, 0])
        frames = [[round(float(v), 5) for v in features[:, t]] for t in range(0, 800, STEP)]
        cases.append({"wav": rel, "samples": len(audio), "probability": round(p, 5),
                      "frame_step": STEP, "frames": frames})
    about = ("Smart Turn v3.2's input, pipecat-ai 1.14.0's numpy front end, every frame_step-th frame "
             f"of the 80x800 log-mel, and ONNX Runtime {ort.__version__}'s probability for it.")
    json.dump({"about": about, "cases": cases}, open("smart_turn_reference.json", "w"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
