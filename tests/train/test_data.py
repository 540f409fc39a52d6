import numpy as np

from lontar.train.data import pack_blocks


def test_pack_blocks_puts_eos_between_documents_and_drops_tail():
    blocks = pack_blocks([[5, 6, 7], [8], [9, 10, 11, 12]], block_size=4, eos_id=2)
    np.testing.assert_array_equal(blocks, [[5, 6, 7, 2], [8, 2, 9, 10]])  # tail [11, 12, 2] dropped


def test_pack_blocks_stops_early_at_max_blocks():
    def docs():
        yield from ([i] * 3 for i in range(10))
        raise AssertionError("read past what was needed")

    blocks = pack_blocks(docs(), block_size=4, eos_id=0, max_blocks=2)
    assert blocks.shape == (2, 4)
    assert blocks.flatten().tolist() == [0, 0, 0, 0, 1, 1, 1, 0]


def test_literal_special_token_text_stays_text(tmp_path, khmer_sentences):
    from lontar.tokenizer.spm import train_sentencepiece
    from lontar.train.data import tokenize_stream

    tok = train_sentencepiece(khmer_sentences[:2000], tmp_path / "tok", vocab_size=600)
    [ids] = list(tokenize_stream(tok, ["ក</s>ខ<s>"]))
    assert tok.eos_token_id not in ids and tok.bos_token_id not in ids
    assert tok.decode(ids) == "ក</s>ខ<s>"
