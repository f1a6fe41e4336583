"""Proxy training: tokeniser, packed data, a GPT, 3-D parallelism and compute accounting.

The loop MDFS closes on itself: train a small GPT on a corpus, score it with the CLUE harness,
compare corpora. Modules, in the order data flows through them:

    corpus.py     read a corpus directory (MDFS output) or .jsonl(.gz) files
    tokenizer.py  train a byte-level BPE tokeniser, saved for AutoTokenizer
    packing.py    tokens -> .bin/.idx shards (memory-mapped), and fixed-length samples
    model.py      a nanoGPT-style, GPT-2-shaped decoder
    parallel.py   tensor (DTensor), pipeline (torch.distributed.pipelining) and data (FSDP2)
                  parallelism over one DeviceMesh
    flops.py      FLOPs per token, MFU and PF-days
    worker.py     the per-process training loop that torchrun starts
    launch.py     `mdfs train`: prepare tokenizer and data, then start torchrun
    export.py     save as a Hugging Face GPT2LMHeadModel
    compare.py    `mdfs compare`: equal-token proxies on two corpora, CLUE side by side
"""
