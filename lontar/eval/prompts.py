"""From documents to scored instances: a context, and either answer choices or a reference text.

Two prompt styles:
- `base`: plain text for a base model, as lm-evaluation-harness builds it: the description, the
  few-shot examples (prompt + delimiter + answer) joined by the few-shot delimiter, then the prompt.
- `chat`: the tokenizer's chat template, few-shot examples as earlier user/assistant turns and the
  prompt as the last user turn, rendered with the generation prompt; the answer continues it.

SEA-HELM tasks (`seahelm_prompt`) take their templates from SEA-HELM's own `config.yaml` and are
assembled as SEA-HELM does: the preamble opens the first user turn, each example is a user turn
(`task_template`) and an assistant turn (`answer_template`), and the answer is scored after the
answer tag. In the base style the turns are joined as text.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal


from lontar import safe_yaml
from lontar.config import ConfigError
from lontar.eval.sources import DataContext
from lontar.eval.task import Task

Style = Literal["base", "chat"]


@dataclass
class Instance:
    index: int  # position in the task's document list
    context: str
    continuations: list[str] | None  # multiple choice: delimiter + choice text
    choice_texts: list[str] | None  # the bare choices (their length normalises acc_norm, as in lm-eval)
    gold: int | None
    reference: str | None  # generation: the first reference text
    group: str | None  # subset label, e.g. CS / CA
    lang: str | None = None
    references: list[str] | None = None  # generation: every reference (metrics take them all)


@dataclass(frozen=True)
class SeahelmTemplates:
    preamble: str
    task_template: str
    answer_template: str
    answer_tag: str

    @classmethod
    def read(cls, task: Task, ctx: DataContext) -> "SeahelmTemplates":
        spec = task.seahelm_prompt
        assert spec is not None
        where = f"{task.file or task.task}: seahelm_prompt"
        path = Path(ctx.expand(spec.config, where)).expanduser()
        if not path.is_file():
            from lontar.eval.sources import MissingData

            raise MissingData(f"{where}.config: SEA-HELM config not found: {path}")
        data = safe_yaml.load_file(path) or {}
        try:
            t = data[spec.task]["languages"][task.lang]["prompt_template"]
            return cls(t["preamble"], t["task_template"], t["answer_template"], t["answer_tag"])
        except (KeyError, TypeError) as e:
            raise ConfigError(f"{where}: {path} has no {spec.task}.languages.{task.lang}.prompt_template "
                              f"with preamble, task_template, answer_template and answer_tag (missing {e})") from None

    def fields(self, doc: dict[str, Any]) -> dict[str, Any]:
        prompts = doc.get("prompts")
        values = dict(prompts[0]) if isinstance(prompts, list) and prompts else dict(doc)
        return {**values, "answer_tag": self.answer_tag}

    def user(self, doc: dict[str, Any], where: str) -> str:
        try:
            return self.task_template.format(**self.fields(doc))
        except KeyError as e:
            raise ConfigError(f"{where}: SEA-HELM task_template needs field {e} (document has "
                              f"{', '.join(sorted(self.fields(doc)))})") from None

    def answer(self, label: str) -> str:
        return self.answer_template.format(answer_tag=self.answer_tag, label=label)

    @property
    def answer_prefix(self) -> str:
        """What precedes the label in an answer ('Sagot: '): the end of the context when scoring."""
        return self.answer_template.format(answer_tag=self.answer_tag, label="\x00").split("\x00")[0]


def prompt_sha256(task: Task, ctx: DataContext) -> str:
    """The hash of the prompt as resolved: the task's prompt keys after `include:` and, for SEA-HELM
    tasks, the content of the template file they read."""
    import hashlib
    import json

    blob: dict[str, Any] = {"task": task.prompt_spec()}
    if task.seahelm_prompt:
        t = SeahelmTemplates.read(task, ctx)
        blob["seahelm"] = [t.preamble, t.task_template, t.answer_template, t.answer_tag]
    return hashlib.sha256(json.dumps(blob, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _examples(task: Task, pool: list[dict[str, Any]] | None, index: int, same_pool: bool) -> list[dict[str, Any]]:
    k = task.fewshot.k
    if not k or not pool:
        return []
    candidates = [i for i in range(len(pool)) if not (same_pool and i == index)]
    if task.fewshot.sampler == "first_n":
        chosen = candidates[:k]
    else:
        chosen = random.Random(task.fewshot.seed + index).sample(candidates, min(k, len(candidates)))
    return [pool[i] for i in chosen]


def _answer(task: Task, doc: dict[str, Any]) -> str:
    if task.output == "multiple_choice":
        choices = task.render_choices(doc)
        return choices[task.target_index(doc, choices)]
    return task.target_text(doc)


Shots = dict[int, tuple[str, str]]  # id(example document) -> (its prompt, its answer)


def _shot(task: Task, ex: dict[str, Any], memo: Shots | None) -> tuple[str, str]:
    """An example's prompt and answer, rendered once per `build_instances` call: every item shows the
    same few examples (first_n), so rendering them per item would repeat k renders for every item."""
    key = id(ex)
    if memo is None or key not in memo:
        value = (task.render_prompt(ex), _answer(task, ex))
        if memo is None:
            return value
        memo[key] = value
    return memo[key]


def _chat(tokenizer: Any, messages: list[dict[str, str]], where: str) -> str:
    if not getattr(tokenizer, "chat_template", None):
        raise ConfigError(f"{where}: eval.prompt_style is 'chat' but the tokenizer has no chat template")
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def build_context(task: Task, doc: dict[str, Any], examples: list[dict[str, Any]], style: Style, tokenizer: Any,
                  seahelm: SeahelmTemplates | None, shots: Shots | None = None) -> tuple[str, str]:
    """(context, delimiter before the answer) for one document; `shots` keeps rendered examples."""
    where = task.file or task.task
    if seahelm is not None:
        turns: list[tuple[str, str]] = []
        for ex in examples:
            # SEA-HELM tasks have no prompt template (the user turn is SEA-HELM's own): only the answer
            turns += [("user", seahelm.user(ex, where)), ("assistant", seahelm.answer(_answer(task, ex)))]
        turns.append(("user", seahelm.user(doc, where)))
        first = seahelm.preamble.format(answer_tag=seahelm.answer_tag) + "\n\n" + turns[0][1]
        turns[0] = ("user", first.strip())
        prefix = seahelm.answer_prefix
        if style == "chat":
            context = _chat(tokenizer, [{"role": r, "content": c} for r, c in turns], where)
        else:
            context = "".join(c + ("\n" if r == "user" else "\n\n") for r, c in turns)
        return context + prefix.rstrip(), prefix[len(prefix.rstrip()):]
    prompt = task.render_prompt(doc)
    if style == "chat":
        messages = [{"role": "system", "content": task.description}] if task.description else []
        for ex in examples:
            ex_prompt, ex_answer = _shot(task, ex, shots)
            messages += [{"role": "user", "content": ex_prompt}, {"role": "assistant", "content": ex_answer}]
        messages.append({"role": "user", "content": prompt})
        return _chat(tokenizer, messages, where), ""
    block = "".join(p + task.target_delimiter + a + task.fewshot.delimiter
                    for p, a in (_shot(task, ex, shots) for ex in examples))
    return task.description + block + prompt, task.target_delimiter


def build_instances(task: Task, docs: list[dict[str, Any]], pool: list[dict[str, Any]] | None, *, style: Style,
                    tokenizer: Any, ctx: DataContext, indices: list[int] | None = None) -> list[Instance]:
    """Instances for the documents at `indices` (all by default), in that order."""
    seahelm = SeahelmTemplates.read(task, ctx) if task.seahelm_prompt else None
    same_pool = pool is docs
    shots: Shots = {}
    out = []
    for i in indices if indices is not None else range(len(docs)):
        doc = docs[i]
        context, delim = build_context(task, doc, _examples(task, pool, i, same_pool), style, tokenizer, seahelm, shots)
        group = task.group(doc)
        if task.output == "multiple_choice":
            choices = task.render_choices(doc)
            out.append(Instance(i, context, [delim + c for c in choices], choices, task.target_index(doc, choices),
                                None, group, task.lang))
        else:
            refs = task.target_texts(doc)
            out.append(Instance(i, context, None, None, None, refs[0], group, task.lang, refs))
    return out
