"""The committed table that ``cnnzoo list`` prints agrees with the measured path."""

from __future__ import annotations

import copy

from cnnzoo.zoo_table import TABLE_FILE, load_table, main, table_problems


def test_the_table_is_current_for_every_registered_model(capsys) -> None:
    # through the command CI would run (`--check`): it names each stale row and the fix
    rc = main(["--check"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert f"{TABLE_FILE} is up to date" in out


def test_a_stale_or_incomplete_table_is_caught() -> None:
    table = copy.deepcopy(load_table())
    models = {r["name"]: r for r in table["models"]}
    models["lenet5"]["flops"] += 1
    table["models"].remove(models["lenet5_bn"])
    table["models"].append({**models["lenet5"], "name": "lenet9"})
    table["models"].sort(key=lambda r: r["name"])
    next(r for r in table["generic"] if r["name"] == "lenet")["options"] = "act='relu'"
    problems = table_problems(table, "lenet*")
    assert [p.split(":")[0] for p in problems] == ["lenet5", "lenet5_bn", "lenet9", "lenet"]
    assert "lenet5: stale" in problems[0] and "'flops': 423039" in problems[0]
    assert problems[1] == "lenet5_bn: missing from 'models'"
    assert problems[2] == "lenet9: in 'models' but not registered"
