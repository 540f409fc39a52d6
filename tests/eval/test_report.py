from lontar.eval.report import build_rows, render_markdown, write_plots


def _results():
    def m(v, lo, hi, n):
        return {"value": v, "ci": [lo, hi], "n": n}

    return {
        "run": "demo", "settings": {"prompt_style": "base", "bootstrap": 100, "seed": 1},
        "checkpoints": {"base": {"step": 0}, "adapter": {"step": 500}, "step-250": {"step": 250}},
        "tasks": {
            "heldout": {"benchmark": "heldout", "lang": "*", "metrics_list": ["bits_per_byte"], "metrics": {
                c: {"all": {"bits_per_byte": m(v, v - .1, v + .1, 9)}, "km": {"bits_per_byte": m(v, v - .1, v + .1, 9)}}
                for c, v in (("base", 1.2), ("adapter", 0.7), ("step-250", 0.9))}},
            "gmmlu_id": {"benchmark": "global_mmlu_lite", "lang": "id", "metrics_list": ["acc", "acc_norm"], "metrics": {
                c: {"all": {"acc": m(v, v - .1, v + .1, 4), "acc_norm": m(v, 0, 1, 4)},
                    "CS": {"acc": m(v, 0, 1, 2)}, "CA": {"acc": m(v, 0, 1, 2)}}
                for c, v in (("base", 0.25), ("adapter", 0.5), ("step-250", 0.25))}},
        },
    }


def test_rows_markdown_and_plots(tmp_path):
    results = _results()
    rows = build_rows(results)
    heldout = [r for r in rows if r["task"] == "heldout" and r["checkpoint"] == "adapter"]
    assert {(r["lang"], r["subset"]) for r in heldout} == {(None, None), ("km", None)}
    cs = [r for r in rows if r["subset"] == "CS"]
    assert {r["checkpoint"] for r in cs} == {"base", "adapter", "step-250"} and cs[0]["lang"] == "id"
    md = render_markdown({**results, "rows": rows})
    assert "| adapter | **0.700** | **50.0** |" in md  # summary: lower bits/byte and higher accuracy are best
    assert "| heldout | heldout | * | 9 | bits/byte ↓ | 1.200 [1.100, 1.300] | **0.700 [0.600, 0.800]** |" in md
    assert "| gmmlu_id | CS | accuracy | 2 |" in md
    plots = write_plots(results, tmp_path)
    assert plots == ["results.png", "plots/heldout.png", "plots/global_mmlu_lite.png", "plots/steps.png"]
    assert all((tmp_path / p).stat().st_size > 1000 for p in plots)


def test_governance_record_reads_the_rows():
    from lontar.governance.record import eval_entries

    results = _results()
    results["rows"] = build_rows(results)
    entries = eval_entries(results)
    assert {e["subset"] for e in entries if e["subset"]} == {"CS", "CA"}
    assert any(e["benchmark"] == "heldout" and e["lang"] == "km" for e in entries)


def test_chance_line_intervals_on_steps_and_legend_beside_the_axes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lontar.eval.report import _bars, plot_steps

    results = _results()
    results["tasks"]["gmmlu_id"]["chance"] = 0.25
    fig, ax = plt.subplots()
    _bars(ax, results, ["gmmlu_id"])
    fig.canvas.draw()
    chance = [c for c in ax.collections if c.get_label() == "chance"]
    assert chance and all(abs(seg[0][1] - 25.0) < 1e-9 for seg in chance[0].get_segments())
    legend = ax.get_legend().get_window_extent()
    assert legend.x0 >= ax.get_window_extent().x1  # beside the bars, never over them
    plt.close(fig)
    fig, ax = plt.subplots()
    plot_steps(ax, {"gmmlu_id": [(0, 0.25, [0.2, 0.3]), (500, 0.5, [0.4, 0.6])]}, "acc", {"gmmlu_id": 0.25})
    bands = [c for c in ax.collections if c.__class__.__name__ in ("PolyCollection", "FillBetweenPolyCollection")]
    assert bands and min(v[1] for v in bands[0].get_paths()[0].vertices) == 20.0  # the interval, in %
    assert any(line.get_linestyle() == "--" and line.get_ydata()[0] == 25.0 for line in ax.get_lines())
    plt.close(fig)


def test_samples_section_shows_generations_per_checkpoint():
    results = _results()
    results["samples"] = {"flores_en_km": {"base": [{"index": 0, "prompt": "x" * 400 + "\nKhmer:", "prediction": "ខ្ញុំ",
                                                     "reference": "ខ្ញុំស្រលាញ់"}]}}
    md = render_markdown({**results, "rows": build_rows(results)})
    assert "## Samples" in md and "### flores_en_km" in md and "- generated: `ខ្ញុំ`" in md
    assert "…" + "x" * 293 + "\nKhmer:" in md  # the prompt's end, not its start
