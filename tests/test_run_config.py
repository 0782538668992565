"""RunConfig: defaults, checkpoint-frequency rules, validation, replace() (spec section 6.7)."""

from __future__ import annotations

import re

import pytest

import torch_estimator as te

SAVE_CKPT_ERR = "`save_checkpoints_steps` and `save_checkpoints_secs` cannot be both set."

# The 17 constructor fields, their defaults and a valid non-default value for each.
CONSTRUCTOR_DEFAULTS = {
    "model_dir": None,
    "tf_random_seed": None,
    "save_summary_steps": 100,
    "save_checkpoints_steps": None,
    "save_checkpoints_secs": 600,
    "session_config": None,
    "keep_checkpoint_max": 5,
    "keep_checkpoint_every_n_hours": 10000,
    "log_step_count_steps": 100,
    "train_distribute": None,
    "device_fn": None,
    "protocol": None,
    "eval_distribute": None,
    "experimental_distribute": None,
    "experimental_max_worker_delay_secs": None,
    "session_creation_timeout_secs": 7200,
    "checkpoint_save_graph_def": True,
}

DERIVED_SINGLE_WORKER = {
    "task_type": "worker",
    "task_id": 0,
    "global_id_in_cluster": 0,
    "master": "",
    "evaluation_master": "",
    "is_chief": True,
    "num_ps_replicas": 0,
    "num_worker_replicas": 1,
    "service": None,
}


def _device_fn(op):
    return "/cpu:0"


REPLACEMENTS = {
    "model_dir": "some/dir",
    "tf_random_seed": 42,
    "save_summary_steps": 7,
    "save_checkpoints_steps": 11,
    "save_checkpoints_secs": 30,
    "session_config": {"allow_soft_placement": True},
    "keep_checkpoint_max": 2,
    "keep_checkpoint_every_n_hours": 3,
    "log_step_count_steps": 9,
    "train_distribute": te.distribute.DataParallelStrategy(timeout_secs=5),
    "device_fn": _device_fn,
    "protocol": "grpc",
    "eval_distribute": "eval_strategy",
    "experimental_distribute": "dist",
    "experimental_max_worker_delay_secs": 5,
    "session_creation_timeout_secs": 60,
    "checkpoint_save_graph_def": False,
}


@pytest.fixture(autouse=True)
def _no_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)


# -- defaults -------------------------------------------------------------------------------------


@pytest.mark.parametrize("field,expected", sorted(CONSTRUCTOR_DEFAULTS.items()))
def test_constructor_field_default(field, expected):
    config = te.RunConfig()
    assert getattr(config, field) == expected
    if expected is None or isinstance(expected, bool):
        assert getattr(config, field) is expected


@pytest.mark.parametrize("field,expected", sorted(DERIVED_SINGLE_WORKER.items()))
def test_derived_single_worker_property(field, expected):
    config = te.RunConfig()
    value = getattr(config, field)
    assert value == expected
    assert type(value) is type(expected)


def test_cluster_spec_is_empty():
    cluster_spec = te.RunConfig().cluster_spec
    assert not cluster_spec
    assert len(cluster_spec) == 0


def test_model_dir_is_kept():
    assert te.RunConfig(model_dir="a/b").model_dir == "a/b"


def test_all_constructor_fields_round_trip():
    config = te.RunConfig(**{k: v for k, v in REPLACEMENTS.items() if k != "save_checkpoints_secs"})
    for field, value in REPLACEMENTS.items():
        if field == "save_checkpoints_secs":
            assert config.save_checkpoints_secs is None
        else:
            assert getattr(config, field) == value, field


# -- save_checkpoints_steps / save_checkpoints_secs ----------------------------------------------


def test_neither_checkpoint_frequency_gives_600_secs():
    config = te.RunConfig()
    assert config.save_checkpoints_steps is None
    assert config.save_checkpoints_secs == 600


def test_steps_given_clears_secs():
    config = te.RunConfig(save_checkpoints_steps=50)
    assert config.save_checkpoints_steps == 50
    assert config.save_checkpoints_secs is None


def test_secs_given_clears_steps():
    config = te.RunConfig(save_checkpoints_secs=30)
    assert config.save_checkpoints_secs == 30
    assert config.save_checkpoints_steps is None


def test_steps_none_disables_checkpointing():
    config = te.RunConfig(save_checkpoints_steps=None)
    assert config.save_checkpoints_steps is None
    assert config.save_checkpoints_secs is None


def test_both_none_disables_checkpointing():
    config = te.RunConfig(save_checkpoints_steps=None, save_checkpoints_secs=None)
    assert config.save_checkpoints_steps is None
    assert config.save_checkpoints_secs is None


def test_one_given_other_explicit_none_is_fine():
    config = te.RunConfig(save_checkpoints_steps=5, save_checkpoints_secs=None)
    assert (config.save_checkpoints_steps, config.save_checkpoints_secs) == (5, None)
    config = te.RunConfig(save_checkpoints_steps=None, save_checkpoints_secs=5)
    assert (config.save_checkpoints_steps, config.save_checkpoints_secs) == (None, 5)


def test_both_checkpoint_frequencies_raise():
    with pytest.raises(ValueError, match=re.escape(SAVE_CKPT_ERR)):
        te.RunConfig(save_checkpoints_steps=10, save_checkpoints_secs=10)


# -- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"save_summary_steps": -1}, "save_summary_steps should be >= 0"),
        ({"save_checkpoints_steps": -1}, "save_checkpoints_steps should be >= 0"),
        ({"save_checkpoints_secs": -1}, "save_checkpoints_secs should be >= 0"),
        ({"keep_checkpoint_max": -1}, "keep_checkpoint_max should be >= 0"),
        ({"keep_checkpoint_every_n_hours": 0}, "keep_checkpoint_every_n_hours should be > 0"),
        ({"keep_checkpoint_every_n_hours": -2}, "keep_checkpoint_every_n_hours should be > 0"),
        ({"log_step_count_steps": 0}, "log_step_count_steps should be > 0"),
        ({"session_creation_timeout_secs": 0}, "session_creation_timeout_secs should be > 0"),
        ({"tf_random_seed": 1.5}, "tf_random_seed must be integer."),
        ({"tf_random_seed": "1"}, "tf_random_seed must be integer."),
        ({"experimental_max_worker_delay_secs": 1.5}, "experimental_max_worker_delay_secs must be an integer if set."),
        ({"device_fn": lambda a, b: None}, 'device_fn must be callable with exactly one argument "op".'),
        ({"device_fn": lambda x: None}, 'device_fn must be callable with exactly one argument "op".'),
        ({"device_fn": "not callable"}, 'device_fn must be callable with exactly one argument "op".'),
        ({"protocol": "http"}, "protocol should be grpc or grpc+verbs"),
    ],
)
def test_constructor_validation(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        te.RunConfig(**kwargs)


def test_empty_model_dir_raises():
    # TF's constructor says 'model_dir should be non-empty.' and replace() says it without the
    # period; both start with the spec's text.
    with pytest.raises(ValueError, match=re.escape("model_dir should be non-empty")):
        te.RunConfig(model_dir="")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"save_summary_steps": 0},
        {"save_checkpoints_steps": 0},
        {"save_checkpoints_secs": 0},
        {"keep_checkpoint_max": 0},
        {"keep_checkpoint_every_n_hours": 0.5},
        {"log_step_count_steps": 1},
        {"session_creation_timeout_secs": 1},
        {"tf_random_seed": 0},
        {"experimental_max_worker_delay_secs": 0},
        {"device_fn": _device_fn},
        {"protocol": "grpc+verbs"},
    ],
)
def test_boundary_values_are_valid(kwargs):
    config = te.RunConfig(**kwargs)
    ((field, value),) = kwargs.items()
    assert getattr(config, field) == value


# -- replace --------------------------------------------------------------------------------------


def test_replace_returns_new_object_and_leaves_original():
    config = te.RunConfig(model_dir="first", save_summary_steps=3)
    new = config.replace(model_dir="second", tf_random_seed=7)
    assert new is not config
    assert isinstance(new, te.RunConfig)
    assert (new.model_dir, new.tf_random_seed, new.save_summary_steps) == ("second", 7, 3)
    assert (config.model_dir, config.tf_random_seed) == ("first", None)


def test_replace_without_arguments_is_an_equal_copy():
    config = te.RunConfig(model_dir="d", keep_checkpoint_max=1)
    new = config.replace()
    assert new is not config
    for field in CONSTRUCTOR_DEFAULTS:
        assert getattr(new, field) == getattr(config, field)


@pytest.mark.parametrize("field", sorted(REPLACEMENTS))
def test_every_constructor_field_is_replaceable(field):
    base = te.RunConfig(save_checkpoints_steps=None, save_checkpoints_secs=None)
    new = base.replace(**{field: REPLACEMENTS[field]})
    assert getattr(new, field) == REPLACEMENTS[field]
    assert getattr(base, field) == getattr(te.RunConfig(save_checkpoints_steps=None), field)


@pytest.mark.parametrize("name", ["cluster_spec", "is_chief", "task_type", "master", "no_such_field"])
def test_replace_rejects_non_replaceable_names(name):
    with pytest.raises(ValueError, match=re.escape(f"{name} property is not allowed to be replaced.")):
        te.RunConfig().replace(**{name: 1})


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"save_summary_steps": -1}, "save_summary_steps should be >= 0"),
        ({"keep_checkpoint_max": -1}, "keep_checkpoint_max should be >= 0"),
        ({"log_step_count_steps": 0}, "log_step_count_steps should be > 0"),
        ({"keep_checkpoint_every_n_hours": 0}, "keep_checkpoint_every_n_hours should be > 0"),
        ({"session_creation_timeout_secs": -5}, "session_creation_timeout_secs should be > 0"),
        ({"model_dir": ""}, "model_dir should be non-empty"),
        ({"tf_random_seed": 2.5}, "tf_random_seed must be integer."),
        ({"protocol": "udp"}, "protocol should be grpc or grpc+verbs"),
    ],
)
def test_replace_validates(kwargs, message):
    config = te.RunConfig()
    with pytest.raises(ValueError, match=re.escape(message)):
        config.replace(**kwargs)
    # The original is untouched by the failed replace.
    for field in kwargs:
        assert getattr(config, field) == CONSTRUCTOR_DEFAULTS[field]


def test_replace_both_checkpoint_frequencies_raises():
    config = te.RunConfig(save_checkpoints_steps=None, save_checkpoints_secs=None)
    with pytest.raises(ValueError, match=re.escape(SAVE_CKPT_ERR)):
        config.replace(save_checkpoints_steps=10, save_checkpoints_secs=20)


def test_replace_both_with_one_none_is_fine():
    new = te.RunConfig().replace(save_checkpoints_steps=10, save_checkpoints_secs=None)
    assert (new.save_checkpoints_steps, new.save_checkpoints_secs) == (10, None)


def test_replace_steps_only_clears_secs():
    new = te.RunConfig().replace(save_checkpoints_steps=10)
    assert new.save_checkpoints_steps == 10
    assert new.save_checkpoints_secs is None


def test_replace_secs_only_clears_steps():
    new = te.RunConfig(save_checkpoints_steps=5).replace(save_checkpoints_secs=30)
    assert new.save_checkpoints_secs == 30
    assert new.save_checkpoints_steps is None


def test_replace_of_unrelated_field_keeps_checkpoint_frequency():
    new = te.RunConfig(save_checkpoints_steps=5).replace(keep_checkpoint_max=1)
    assert (new.save_checkpoints_steps, new.save_checkpoints_secs) == (5, None)
    new = te.RunConfig().replace(keep_checkpoint_max=1)
    assert (new.save_checkpoints_steps, new.save_checkpoints_secs) == (None, 600)


# -- read-only ------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", sorted(CONSTRUCTOR_DEFAULTS) + sorted(DERIVED_SINGLE_WORKER) + ["cluster_spec"])
def test_attributes_are_read_only(field):
    config = te.RunConfig()
    before = getattr(config, field)
    with pytest.raises(AttributeError):
        setattr(config, field, 12345)
    assert getattr(config, field) == before


def test_unknown_attribute_raises_attribute_error():
    with pytest.raises(AttributeError):
        te.RunConfig().no_such_attribute  # noqa: B018


def test_train_distribute_takes_a_strategy_of_ours():
    with pytest.raises(
        ValueError, match="train_distribute must be a te.distribute.DataParallelStrategy; got 'strategy'"
    ):
        te.RunConfig(train_distribute="strategy")


def test_distributed_properties_come_from_torchrun_environment(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "3")
    monkeypatch.setenv("RANK", "2")
    config = te.RunConfig()
    assert (
        config.task_type,
        config.task_id,
        config.global_id_in_cluster,
        config.is_chief,
        config.num_worker_replicas,
    ) == ("worker", 1, 2, False, 3)
    monkeypatch.setenv("RANK", "0")
    assert (config.task_type, config.task_id, config.is_chief) == ("chief", 0, True)
