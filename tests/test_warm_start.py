"""Warm starting: WarmStartSettings, VocabInfo and Estimator(warm_start_from=...).

Golden values (``tests/golden/warm_start.json``) were read off TensorFlow 2.15 by
``tools/read_tf_warm_start_golden.py``.
"""

from __future__ import annotations

import ast
import json
import logging
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch

import torch_estimator as te
from torch_estimator._core import checkpoint as _checkpoint
from torch_estimator._core import tensor_file as _tensor_file
from torch_estimator._core.variables import VariableStore
from torch_estimator._engine.warm_start import VocabInfo, WarmStarter, WarmStartSettings

GOLDEN = json.load(open(os.path.join(os.path.dirname(__file__), "golden", "warm_start.json")))
fc = te.feature_column

OLD_WORDS = ["a", "b", "c", "d"]
NEW_WORDS = ["c", "x", "a", "b", "y"]  # c, a, b survive; x, y are new
LINEAR = "linear/linear_model/w/weights"
EMBEDDING = "dnn/input_from_feature_columns/input_layer/w_embedding/embedding_weights"
WARM_START_LINES = ("warm-start", "calling model_fn", "create checkpointsaverhook")  # as the golden file keeps


def _write(path, lines: list[str]) -> str:
    with open(path, "w") as f:
        f.write("".join(line + "\n" for line in lines))
    return str(path)


def _range_from_100(shape, dtype):
    """The golden files' backup initializer: 100, 101, ... in row-major order."""
    return torch.arange(100, 100 + math.prod(shape), dtype=dtype).reshape(tuple(shape))


def _save(prefix, tensors: dict[str, object]) -> str:
    data = _tensor_file.serialize({k: torch.as_tensor(np.asarray(v, np.float32)) for k, v in tensors.items()}, {})
    (Path(str(prefix) + _checkpoint.SUFFIX)).write_bytes(data)
    return str(prefix)


def _create(
    settings: WarmStartSettings, variables: dict[str, tuple[list[int], bool]], finish: bool = True
) -> dict[str, torch.Tensor]:
    """Creates ``variables`` ({name: (shape, trainable)}, initialised to -7) in a warm-started store."""
    store = VariableStore()
    starter = WarmStarter(settings)
    store.set_warm_starter(starter)
    with store.activate():
        values = {
            n: te.get_variable(n, shape, initializer=-7.0, trainable=t).detach().clone()
            for n, (shape, t) in variables.items()
        }
    if finish:
        starter.finish()
    return values


def _warm_lines(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "torch_estimator" and any(k in r.getMessage().lower() for k in WARM_START_LINES)
    ]


# -- golden: remapping, selection, messages --------------------------------------------------------


@pytest.fixture
def golden_checkpoint(tmp_path):
    old_vocab = _write(tmp_path / "old_vocab.txt", GOLDEN["old_vocab"])
    new_vocab = _write(tmp_path / "new_vocab.txt", GOLDEN["new_vocab"])
    return _save(tmp_path / "model.ckpt", {"emb": GOLDEN["old"]}), old_vocab, new_vocab


@pytest.mark.parametrize("case", GOLDEN["remap"], ids=lambda c: c["name"])
def test_vocab_remap_matches_tensorflow(golden_checkpoint, case):
    ckpt, old_vocab, new_vocab = golden_checkpoint
    backup = _range_from_100 if case["backup"] else None
    info = VocabInfo(
        new_vocab,
        case["new_vocab_size"],
        case["num_oov_buckets"],
        old_vocab,
        case["old_vocab_size"],
        backup,
        case["axis"],
    )
    got = _create(WarmStartSettings(ckpt, var_name_to_vocab_info={"emb": info}), {"emb": (case["shape"], True)})["emb"]
    np.testing.assert_array_equal(got.numpy(), np.array(case["expected"], np.float32))


@pytest.mark.parametrize("case", GOLDEN["selection"], ids=lambda c: repr(c["vars_to_warm_start"]))
def test_variable_selection_matches_tensorflow(tmp_path, case, caplog):
    ckpt = _save(
        tmp_path / "model.ckpt",
        {"dense/kernel": np.ones((2, 3)), "dense/bias": np.ones(3), "bn/moving_mean": np.ones(3)},
    )
    variables = {"dense/kernel": ([2, 3], True), "dense/bias": ([3], True), "bn/moving_mean": ([3], False)}
    with caplog.at_level(logging.INFO, logger="torch_estimator"):
        values = _create(WarmStartSettings(ckpt, case["vars_to_warm_start"]), variables)
    warm = sorted(n for n, v in values.items() if bool((v == 1).all()))
    expected = case["warm_started"]
    if case["vars_to_warm_start"] == ".*kernel$":
        # TF matches against the tensor name "dense/kernel:0", so "$" after the name never
        # matches there; both the plain name and the tensor name are matched here.
        expected = ["dense/kernel"]
    assert warm == expected
    assert f"Warm-started {len(expected)} variables." in _warm_lines(caplog)


def test_messages_match_tensorflow(golden_checkpoint, tmp_path):
    ckpt, old_vocab, new_vocab = golden_checkpoint
    messages = GOLDEN["messages"]
    with pytest.raises(ValueError) as e:
        _create(WarmStartSettings(ckpt), {"emb": ([5, 3], True)})
    assert str(e.value) == messages["shape_mismatch"]
    with pytest.raises(ValueError) as e:
        _create(WarmStartSettings(ckpt), {"other": ([4, 3], True)})
    head, _, shapes = messages["not_found"].replace("{ckpt}", ckpt).partition(" checkpoint ")
    got_head, _, got_shapes = str(e.value).partition(" checkpoint ")
    assert (got_head, ast.literal_eval(got_shapes)) == (head, ast.literal_eval(shapes))
    with pytest.raises(ValueError) as e:
        _create(WarmStartSettings(ckpt, var_name_to_prev_var_name={"zzz": "emb"}), {"emb": ([4, 3], True)})
    assert str(e.value) == messages["prev_not_used"]
    with pytest.raises(ValueError) as e:
        _create(
            WarmStartSettings(ckpt, var_name_to_vocab_info={"zzz": VocabInfo(new_vocab, 5, 0, old_vocab)}),
            {"emb": ([4, 3], True)},
        )
    assert str(e.value) == messages["vocab_not_used"]
    with pytest.raises(ValueError) as e:
        VocabInfo(new_vocab, 5, 0, old_vocab, axis=2)
    assert str(e.value) == messages["axis"]
    for empty in ("", None, b""):
        with pytest.raises(ValueError) as e:
            WarmStartSettings(empty)
        assert str(e.value) == messages["empty_ckpt"]
    with pytest.raises(ValueError) as e:
        te.Estimator(lambda features: None, model_dir=str(tmp_path / "m"), warm_start_from=3)
    assert str(e.value) == messages["warm_start_from_type"]
    assert repr(WarmStartSettings("/x", vars_to_warm_start=".*linear.*")) == messages["settings_repr"]
    assert repr(VocabInfo("new.txt", 5, 1, "old.txt")) == messages["vocab_info_repr"]


def test_vocab_errors(golden_checkpoint, tmp_path):
    ckpt, old_vocab, new_vocab = golden_checkpoint

    def remap(shape, info, name="emb"):
        _create(WarmStartSettings(ckpt, var_name_to_vocab_info={name: info}), {name: (shape, True)})

    with pytest.raises(
        ValueError,
        match=r"^Variable emb has 6 rows but VocabInfo gives new_vocab_size \(5\) \+ num_oov_buckets \(2\) = 7\.$",
    ):
        remap([6, 3], VocabInfo(new_vocab, 5, 2, old_vocab))
    with pytest.raises(
        ValueError,
        match=r"^Tensor emb has shape \[4,3\], where the size of its 2nd dimension is 3 instead of being equal to "
        r"num_cols=2$",
    ):
        remap([7, 2], VocabInfo(new_vocab, 5, 2, old_vocab))
    with pytest.raises(
        ValueError, match=r"where the size of its 1st dimension is 4 instead of being equal to num_rows=3$"
    ):
        remap([3, 6], VocabInfo(new_vocab, 5, 1, old_vocab, axis=1))
    with pytest.raises(ValueError, match=rf"^Invalid vocab_size in {old_vocab}: expected 9 but got 4$"):
        remap([7, 3], VocabInfo(new_vocab, 5, 2, old_vocab, old_vocab_size=9))
    with pytest.raises(ValueError, match=rf"^Invalid vocab_size in {new_vocab}: expected 6 but got 5$"):
        remap([8, 3], VocabInfo(new_vocab, 6, 2, old_vocab))
    with pytest.raises(
        ValueError,
        match=r"^Invalid args: Must provide all of "
        r"\[current_vocab_path, current_vocab_size, prev_ckpt, prev_vocab_path}\.$",
    ):
        remap([2, 3], VocabInfo(new_vocab, 0, 2, old_vocab))
    with pytest.raises(ValueError, match=r"^num_oov_buckets must be >= 0, but received -1$"):
        remap([4, 3], VocabInfo(new_vocab, 5, -1, old_vocab))
    with pytest.raises(ValueError, match=r"^Invalid content in .*gap\.txt: empty line found at position 1\.$"):
        remap([2, 3], VocabInfo(_write(tmp_path / "gap.txt", ["c", "", "a"]), 2, 0, old_vocab))
    with pytest.raises(ValueError, match=r"^Vocabulary file .*dup\.txt has entry 'b' twice \(lines 1 and 2\)\.$"):
        remap([5, 3], VocabInfo(new_vocab, 5, 0, _write(tmp_path / "dup.txt", ["a", "b", "b"])))
    with pytest.raises(ValueError, match=r"^Old ID 1 is mapped to both new ID 0 and 2, which is not supported\.$"):
        remap([3, 3], VocabInfo(_write(tmp_path / "twice.txt", ["b", "d", "b"]), 3, 0, old_vocab))
    with pytest.raises(
        ValueError, match=r"^Vocabulary file .*long\.txt has entries beyond the 4 rows of checkpoint tensor emb\.$"
    ):
        remap(
            [1, 3],
            VocabInfo(
                _write(tmp_path / "e.txt", ["e"]), 1, 0, _write(tmp_path / "long.txt", ["a", "b", "c", "d", "e"])
            ),
        )
    with pytest.raises(ValueError, match=r"^Expected 2-dim shape, but received: \[2, 3, 1\]$"):
        remap([2, 3, 1], VocabInfo(new_vocab, 2, 0, old_vocab))


def test_vocab_remap_of_a_vector_and_a_renamed_tensor(tmp_path):
    old_vocab = _write(tmp_path / "old.txt", OLD_WORDS)
    new_vocab = _write(tmp_path / "new.txt", NEW_WORDS)
    ckpt = _save(tmp_path / "model.ckpt", {"old_bias": [1.0, 2.0, 3.0, 4.0]})
    info = VocabInfo(new_vocab, 5, 1, old_vocab, backup_initializer=0.5)
    settings = WarmStartSettings(
        ckpt, var_name_to_vocab_info={"bias": info}, var_name_to_prev_var_name={"bias": "old_bias"}
    )
    got = _create(settings, {"bias": ([6], True)})["bias"]
    np.testing.assert_array_equal(got.numpy(), [3.0, 0.5, 1.0, 2.0, 0.5, 0.5])


def test_settings_errors(tmp_path):
    ckpt = _save(tmp_path / "model.ckpt", {"v": [1.0]})
    with pytest.raises(
        ValueError, match=r"^`vars_to_warm_start must be a `list` or `str`\.  Given type is <class 'tuple'>$"
    ):
        WarmStarter(WarmStartSettings(ckpt, vars_to_warm_start=("v",)))
    with pytest.raises(
        ValueError, match=r"^If `vars_to_warm_start` is a list, it must be all `Variable` or all `str`\."
    ):
        WarmStarter(WarmStartSettings(ckpt, vars_to_warm_start=["v", 3]))
    missing = str(tmp_path / "nowhere")
    with pytest.raises(
        ValueError, match=rf"^Could not find a checkpoint to warm-start from at ckpt_to_initialize_from: {missing} \("
    ):
        WarmStarter(WarmStartSettings(missing))


# -- Estimator: the wide & deep acceptance case ----------------------------------------------------


def _wide_deep(tmp_path, name: str, vocab: str, **kwargs) -> te.DNNLinearCombinedClassifier:
    words = fc.categorical_column_with_vocabulary_file("w", vocab, num_oov_buckets=1)
    return te.DNNLinearCombinedClassifier(
        model_dir=str(tmp_path / name),
        linear_feature_columns=[words],
        dnn_feature_columns=[fc.embedding_column(words, 2), fc.numeric_column("n")],
        dnn_hidden_units=[3],
        config=te.RunConfig(tf_random_seed=1),
        **kwargs,
    )


def _wide_deep_input(words: list[str]):
    n = np.arange(len(words), dtype=np.float32)[:, None]
    labels = np.array([[float(w in "abc")] for w in words], np.float32)
    return lambda: ({"w": np.array(words), "n": n}, labels)


def _initial(est: te.Estimator, name: str) -> np.ndarray:
    """A variable's value before the first training step (the checkpoint of step 0)."""
    return _checkpoint.load_variable(os.path.join(est.model_dir, "model.ckpt-0"), name).numpy()


@pytest.fixture
def old_wide_deep(tmp_path) -> te.DNNLinearCombinedClassifier:
    est = _wide_deep(tmp_path, "old", _write(tmp_path / "old_vocab.txt", OLD_WORDS))
    est.train(_wide_deep_input(["a", "b", "b", "c", "c", "c", "d", "zz"]), steps=5)
    return est


def test_wide_deep_keeps_rows_of_surviving_words(tmp_path, old_wide_deep, caplog):
    old_vocab = str(tmp_path / "old_vocab.txt")
    new_vocab = _write(tmp_path / "new_vocab.txt", NEW_WORDS)
    settings = WarmStartSettings(
        old_wide_deep.model_dir,
        var_name_to_vocab_info={
            LINEAR: VocabInfo(new_vocab, 5, 1, old_vocab),
            EMBEDDING: VocabInfo(new_vocab, 5, 1, old_vocab, backup_initializer=0.25),
        },
    )
    new = _wide_deep(tmp_path, "new", new_vocab, warm_start_from=settings)
    with caplog.at_level(logging.INFO, logger="torch_estimator"):
        new.train(_wide_deep_input(["c", "x", "q"]), steps=2)

    old_linear, old_embedding = old_wide_deep.get_variable_value(LINEAR), old_wide_deep.get_variable_value(EMBEDDING)
    assert len(set(old_linear[:4, 0])) == 4 and len(set(old_embedding[:, 0])) == 5  # rows told apart
    a, b, c = (OLD_WORDS.index(w) for w in "abc")
    np.testing.assert_array_equal(
        _initial(new, LINEAR), np.stack([old_linear[c], [0.0], old_linear[a], old_linear[b], [0.0], [0.0]])
    )
    quarter = np.full(2, 0.25, np.float32)
    np.testing.assert_array_equal(
        _initial(new, EMBEDDING),
        np.stack([old_embedding[c], quarter, old_embedding[a], old_embedding[b], quarter, quarter]),
    )
    remapped = {LINEAR, EMBEDDING}
    model_variables = [
        n for n in old_wide_deep.get_variable_names() if not n.startswith("training/") and n != "global_step"
    ]
    assert len(model_variables) == 7
    for name in set(model_variables) - remapped:
        np.testing.assert_array_equal(_initial(new, name), old_wide_deep.get_variable_value(name), err_msg=name)
    assert int(_initial(new, "global_step")) == 0
    assert int(new.get_variable_value("global_step")) == 2
    assert _warm_lines(caplog) == [
        "Calling model_fn.",
        "Done calling model_fn.",
        f"Warm-starting with WarmStartSettings: {settings}",
        f"Warm-starting from: {old_wide_deep.model_dir}",
        "Warm-starting variables only in TRAINABLE_VARIABLES.",
        "Warm-started 7 variables.",
        "Create CheckpointSaverHook.",
    ]


def test_only_vocab_variables_with_none(tmp_path, old_wide_deep, caplog):
    new_vocab = _write(tmp_path / "new_vocab.txt", NEW_WORDS)
    info = VocabInfo(new_vocab, 5, 1, str(tmp_path / "old_vocab.txt"))
    settings = WarmStartSettings(
        old_wide_deep.model_dir, vars_to_warm_start=None, var_name_to_vocab_info={LINEAR: info}
    )
    cold = _wide_deep(tmp_path, "cold", new_vocab)
    cold.train(_wide_deep_input(["c"]), steps=1)
    new = _wide_deep(tmp_path, "new", new_vocab, warm_start_from=settings)
    with caplog.at_level(logging.INFO, logger="torch_estimator"):
        new.train(_wide_deep_input(["c"]), steps=1)
    assert "Warm-started 1 variables." in _warm_lines(caplog)
    np.testing.assert_array_equal(_initial(new, LINEAR)[0], old_wide_deep.get_variable_value(LINEAR)[2])
    for name in cold.get_variable_names():  # everything else starts as in a cold start with the same seed
        if name != LINEAR and not name.startswith("training/"):
            np.testing.assert_array_equal(_initial(new, name), _initial(cold, name), err_msg=name)


def test_a_directory_warm_starts_only_a_model_dir_without_checkpoint(tmp_path, old_wide_deep, caplog):
    new = _wide_deep(tmp_path, "new", str(tmp_path / "old_vocab.txt"), warm_start_from=old_wide_deep.model_dir)
    new.train(_wide_deep_input(["a"]), steps=1)
    for name in old_wide_deep.get_variable_names():
        if not name.startswith("training/") and name != "global_step":
            np.testing.assert_array_equal(_initial(new, name), old_wide_deep.get_variable_value(name), err_msg=name)
    with caplog.at_level(logging.INFO, logger="torch_estimator"):
        new.train(_wide_deep_input(["a"]), steps=1)
    assert not [line for line in _warm_lines(caplog) if "Warm-start" in line]
    assert int(new.get_variable_value("global_step")) == 2


# -- Estimator: custom model_fns ---------------------------------------------------------------------


def _model_fn(features, labels, mode, params):
    hidden = te.layers.dense(features["x"], 3, activation="relu", name=params.get("hidden", "hidden"))
    hidden = te.layers.batch_normalization(
        hidden, training=params.get("bn_training", True) and mode == te.ModeKeys.TRAIN, name="bn"
    )
    logits = te.layers.dense(hidden, 1, name="logits")
    if mode == te.ModeKeys.PREDICT:
        return te.EstimatorSpec(mode, predictions={"y": logits})
    loss = torch.nn.functional.mse_loss(logits, labels)
    return te.EstimatorSpec(mode, loss=loss, train_op=te.optimizers.get("Adagrad", learning_rate=0.1).minimize(loss))


MODEL_FN_SHAPES = {
    "hidden/kernel": (2, 3),
    "hidden/bias": (3,),
    "bn/gamma": (3,),
    "bn/beta": (3,),
    "bn/moving_mean": (3,),
    "bn/moving_variance": (3,),
    "logits/kernel": (3, 1),
    "logits/bias": (1,),
}
MARK = 0.125  # no initializer gives it


def _xy():
    x = np.linspace(-1, 1, 16, dtype=np.float32).reshape(8, 2)
    return {"x": x}, x.sum(axis=1, keepdims=True)


@pytest.fixture
def marked_checkpoint(tmp_path) -> str:
    """A checkpoint of ``_model_fn``'s variables, all ``MARK``, with a global step and a slot."""
    tensors = {name: np.full(shape, MARK) for name, shape in MODEL_FN_SHAPES.items()}
    tensors.update({"global_step": np.float32(42), "training/Adagrad/hidden/kernel/accumulator": np.full((2, 3), 9.0)})
    os.makedirs(tmp_path / "marked")
    return _save(tmp_path / "marked" / "model.ckpt-42", tensors)


def _new_custom(tmp_path, warm_start_from, **params) -> te.Estimator:
    """``_model_fn`` trained one step from ``warm_start_from`` (moving statistics left as they start)."""
    est = te.Estimator(
        _model_fn,
        model_dir=str(tmp_path / "new"),
        params={"bn_training": False, **params},
        warm_start_from=warm_start_from,
    )
    est.train(_xy, steps=1)
    return est


@pytest.mark.parametrize(
    "vars_to_warm_start, expected",
    [
        (".*", ["bn/beta", "bn/gamma", "hidden/bias", "hidden/kernel", "logits/bias", "logits/kernel"]),
        ("hidden", ["hidden/bias", "hidden/kernel"]),
        (".*kernel", ["hidden/kernel", "logits/kernel"]),
        (["bn"], ["bn/beta", "bn/gamma", "bn/moving_mean", "bn/moving_variance"]),
        ([".*"], sorted(MODEL_FN_SHAPES)),
        (None, []),
    ],
)
def test_selection_in_an_estimator(tmp_path, marked_checkpoint, vars_to_warm_start, expected, caplog):
    with caplog.at_level(logging.INFO, logger="torch_estimator"):
        new = _new_custom(tmp_path, WarmStartSettings(marked_checkpoint, vars_to_warm_start))
    assert sorted(name for name in MODEL_FN_SHAPES if (_initial(new, name) == MARK).all()) == expected
    assert f"Warm-started {len(expected)} variables." in _warm_lines(caplog)
    # The global step and optimizer slots are never warm-started.
    assert int(_initial(new, "global_step")) == 0
    assert (new.get_variable_value("training/Adagrad/hidden/kernel/accumulator") < 9).all()


def test_renamed_variables(tmp_path):
    prefix = _save(
        tmp_path / "renamed", {"old/kernel": np.full((2, 3), MARK), "old/bias": np.full(3, MARK), "logits/bias": [MARK]}
    )
    settings = WarmStartSettings(
        prefix,
        "renamed|logits/bias",
        var_name_to_prev_var_name={"renamed/kernel": "old/kernel", "renamed/bias": "old/bias"},
    )
    new = _new_custom(tmp_path, settings, hidden="renamed")
    for name in ("renamed/kernel", "renamed/bias", "logits/bias"):
        assert (_initial(new, name) == MARK).all(), name
    assert not (_initial(new, "logits/kernel") == MARK).any()


def test_errors_surface_from_train(tmp_path, marked_checkpoint):
    with pytest.raises(ValueError, match=r"^Tensor renamed/kernel is not found in .* checkpoint \{"):
        _new_custom(tmp_path, marked_checkpoint, hidden="renamed")
    settings = WarmStartSettings(marked_checkpoint, var_name_to_prev_var_name={"hiden/kernel": "hidden/kernel"})
    with pytest.raises(
        ValueError,
        match=r"^You provided the following variables in var_name_to_prev_var_name that were not used: "
        r"\{'hiden/kernel'\}",
    ):
        _new_custom(tmp_path, settings)


def test_warm_start_from_an_export_directory(tmp_path, caplog):
    old = te.Estimator(_model_fn, model_dir=str(tmp_path / "old"), params={})
    old.train(_xy, steps=3)
    export_dir = old.export_saved_model(
        str(tmp_path / "export"), te.export.build_raw_serving_input_receiver_fn({"x": _xy()[0]["x"][:2]})
    ).decode()
    with caplog.at_level(logging.INFO, logger="torch_estimator"):
        new = _new_custom(tmp_path, export_dir)
    for name in ("hidden/kernel", "hidden/bias", "logits/kernel", "bn/gamma", "bn/beta"):
        np.testing.assert_array_equal(_initial(new, name), old.get_variable_value(name), err_msg=name)
    assert not np.array_equal(_initial(new, "bn/moving_mean"), old.get_variable_value("bn/moving_mean"))
    # TF's model in the golden file has one dense layer (2 variables), this one 6 trainable ones.
    golden = [
        line.replace("{export_dir}", export_dir).replace("Warm-started 2 ", "Warm-started 6 ")
        for line in GOLDEN["estimator_logs"]["lines"]
    ]
    assert _warm_lines(caplog) == golden


class _Tower(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))

    def forward(self, features, labels, mode):
        head = te.module("head", lambda: torch.nn.Linear(1, 1))
        y = head(self.net(features["x"]))
        loss = torch.nn.functional.mse_loss(y, labels)
        return te.EstimatorSpec(
            mode, predictions={"y": y}, loss=loss, train_op=te.optimizers.get("SGD", learning_rate=0.1).minimize(loss)
        )


def test_module_parameters_are_warm_started(tmp_path):
    old = te.Estimator(_Tower(), model_dir=str(tmp_path / "old"))
    old.train(_xy, steps=2)
    new = te.Estimator(
        _Tower(), model_dir=str(tmp_path / "new"), warm_start_from=WarmStartSettings(old.model_dir, "net/0|head")
    )
    new.train(_xy, steps=1)
    names = [n for n in old.get_variable_names() if not n.startswith("training/") and n != "global_step"]
    assert names == ["head/bias", "head/weight", "net/0/bias", "net/0/weight", "net/2/bias", "net/2/weight"]
    for name in names:
        same = np.array_equal(_initial(new, name), old.get_variable_value(name))
        assert same == (not name.startswith("net/2")), name


def test_predict_evaluate_and_export_fall_back_to_the_warm_start_source(tmp_path, marked_checkpoint):
    """Without a checkpoint of its own, a model serves what it would warm-start from (as TF does)."""
    source = te.Estimator(_model_fn, model_dir=os.path.dirname(marked_checkpoint), params={"bn_training": False})
    fresh = te.Estimator(
        _model_fn,
        model_dir=str(tmp_path / "fresh"),
        params={"bn_training": False},
        warm_start_from=WarmStartSettings(marked_checkpoint, [".*"]),
    )
    features, _ = _xy()
    want = np.stack([p["y"] for p in source.predict(lambda: features, checkpoint_path=marked_checkpoint)])
    got = np.stack([p["y"] for p in fresh.predict(lambda: features)])
    np.testing.assert_allclose(got, want, atol=1e-6)
    path = fresh.export_saved_model(str(tmp_path / "export"), te.export.build_raw_serving_input_receiver_fn(features))
    np.testing.assert_allclose(
        te.saved_model.load(path).signatures["serving_default"](x=features["x"])["y"], want, atol=1e-6
    )
    assert fresh.latest_checkpoint() is None
    with pytest.raises(ValueError, match="Couldn't find trained model at"):
        te.Estimator(_model_fn, model_dir=str(tmp_path / "none")).export_saved_model(
            str(tmp_path / "e2"), te.export.build_raw_serving_input_receiver_fn(features)
        )
