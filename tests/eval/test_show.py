import io

from lontar.eval.show import main, show
from lontar.eval.sources import DataContext
from tests.eval.conftest import byte_tokenizer
from tests.eval.hub_fixtures import build_hub_mirror


def test_prints_rendered_prompts_choices_gold_and_token_counts(tmp_path):
    mirror = build_hub_mirror(tmp_path / "hub")
    out = io.StringIO()
    show(["xcopa_th", "belebele_km"], DataContext(hub_mirror=str(mirror)), n=1, fewshot=1, tokenizer=byte_tokenizer(),
         max_length=64, out=out)
    text = out.getvalue()
    assert "=== xcopa_th (" in text and "1-shot" in text
    assert "แม่น้ำยาวมาก เพราะ เด็กๆ เล่นในสวน\n\nแม่น้ำยาวมาก เพราะ" in text  # example, then the item
    assert "choice 0 (gold): ' เด็กๆ เล่นในสวน'" in text
    assert "P: ទន្លេមេគង្គវែងណាស់។" in text and "over the 64-token window: it will be cut" in text


def test_default_stream_is_the_current_stdout(tmp_path, capsys):
    """Without `out`, show prints to sys.stdout as it is at the call (here pytest's capture), not as it
    was when the module was imported."""
    mirror = build_hub_mirror(tmp_path / "hub")
    show(["xcopa_th"], DataContext(hub_mirror=str(mirror)), n=1, tokenizer=byte_tokenizer())
    assert "=== xcopa_th (" in capsys.readouterr().out


def test_command_line_errors_are_one_line(tmp_path, capsys):
    assert main(["no_such_task", "--tasks-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lontar eval.show: error: eval.tasks: unknown task 'no_such_task'") and err.count("\n") == 1
