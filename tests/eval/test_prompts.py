from lontar.eval.prompts import build_instances
from lontar.eval.sources import DataContext
from lontar.eval.task import Task

DOCS = [{"q": f"question {i}", "a": ["yes", "no"][i % 2], "group": ["CS", "CA"][i % 2]} for i in range(4)]


def _task(**over):
    return Task.model_validate({"task": "t", "benchmark": "b", "lang": "id", "output": "multiple_choice",
                                "source": {"path": "x.jsonl"}, "prompt": "Q: {{ q }}\nA:", "choices": ["yes", "no"],
                                "target": "a", "group_by": "group", **over})


def test_base_prompt_with_fewshot_examples_as_lm_eval_builds_it():
    task = _task(fewshot={"k": 2}, description="Answer yes or no.\n\n")
    [inst] = build_instances(task, DOCS, DOCS, style="base", tokenizer=None, ctx=DataContext(), indices=[1])
    # The item itself is never its own example; examples are prompt + delimiter + answer, then "\n\n".
    assert inst.context == "Answer yes or no.\n\nQ: question 0\nA: yes\n\nQ: question 2\nA: yes\n\nQ: question 1\nA:"
    assert inst.continuations == [" yes", " no"] and inst.choice_texts == ["yes", "no"]
    assert inst.gold == 1 and inst.group == "CA"


def test_chat_prompt_puts_examples_in_earlier_turns(tok):
    task = _task(fewshot={"k": 1})
    [inst] = build_instances(task, DOCS, DOCS, style="chat", tokenizer=tok, ctx=DataContext(), indices=[2])
    assert inst.context == ("<|user|>\nQ: question 0\nA:\n<|assistant|>\nyes\n"
                            "<|user|>\nQ: question 2\nA:\n<|assistant|>\n")
    assert inst.continuations == ["yes", "no"]  # the answer opens the assistant turn


def test_generation_instances_carry_the_reference():
    task = _task(output="generate", choices=None, metrics=["exact_match", "f1"])
    inst = build_instances(task, DOCS, None, style="base", tokenizer=None, ctx=DataContext())
    assert [x.reference for x in inst] == ["yes", "no", "yes", "no"] and inst[0].continuations is None
