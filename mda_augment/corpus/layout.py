"""File names of a packed corpus (the ``pack`` stage's artifact), spelled once.

The writer (:mod:`.packing`), the reader (:mod:`.packed`), the fingerprint and the stages that
derive a corpus from another one (mixture variants, removal and LDS subsets link the token files
and write their own order) all take the names from here. A leaf module with no imports, so
:mod:`.fingerprint` (which :mod:`.packing` imports) and light config modules can use it too.
"""

from __future__ import annotations

TOKENS = "tokens.bin"  # (n_sequences, seq_len) train tokens, uint16/uint32 memmap
INDEX = "index.parquet"  # one row per document slice of every train sequence
ORDER = "order.npy"  # int64 sequence ids in consumption order (epoch 0, or a variant's own)
HELDOUT = "heldout.bin"  # held-out sequences, same layout as TOKENS
HELDOUT_INDEX = "heldout_index.parquet"
TOKENIZER = "tokenizer"  # folder: the tokenizer the tokens were made with (corpus.tokenizers.Tok)
TOKENIZER_JSON = "tokenizer.json"  # inside TOKENIZER: the tokenizers library's own file
META = "meta.json"  # seq_len, counts, dtype, vocab, eos, seeds, source store

# What a derived corpus (a mixture variant, a removal or LDS subset) links from its base
# instead of copying: the tokens and their provenance; it writes its own ORDER and META.
TOKEN_FILES = (TOKENS, INDEX, HELDOUT, HELDOUT_INDEX)
