"""VadCLIP: top-k rules, classes and their routing, the test protocol."""

import numpy as np
import pytest
import sklearn
import torch

from sklearn_wsvad.datasets import make_wsvad_clip_videos
from sklearn_wsvad.models import VadCLIPDetector, VadCLIPLoss, mil_top_k
from sklearn_wsvad.models._vadclip import _top_k_mean


@pytest.fixture(scope="module")
def data():
    return make_wsvad_clip_videos(24, n_classes=3, n_features=16, min_clips=8, max_clips=40,
                                  random_state=0)


def _model(data, **params):
    return VadCLIPDetector(text_embeddings=data.text_embeddings, local_layers=1, window=4,
                           max_epochs=2, batch_size=8, random_state=0, **params)


def test_top_k_by_hand():
    mask = torch.tensor([[True] * 40, [True] * 15 + [False] * 25])
    np.testing.assert_array_equal(mil_top_k(mask).numpy(), [3, 1])  # floor(n / 16) + 1
    values = torch.arange(40.0)[None].repeat(2, 1)
    np.testing.assert_allclose(_top_k_mean(values, mask, mil_top_k(mask)).numpy(),
                               [(39 + 38 + 37) / 3, 14])


def test_mil_align_targets_share_several_classes():
    loss = VadCLIPLoss(lambda_text=0.0)
    logits2 = torch.tensor([[[0.0, 2.0, 2.0]]])  # one step, three classes
    out = {"scores": torch.tensor([[0.5]]), "logits2": logits2,
           "text": torch.eye(3)}
    mask = torch.ones(1, 1, dtype=torch.bool)
    both = loss(out, torch.tensor([[1.0, 0.0, 1.0, 1.0]]), mask)
    log_p = torch.log_softmax(logits2[0, 0], dim=0)
    bce = -np.log(0.5)
    assert float(both) == pytest.approx(bce - 0.5 * float(log_p[1] + log_p[2]))
    # without classes: -log of the anomaly classes' total probability
    coarse = loss(out, torch.tensor([1.0]), mask)
    assert float(coarse) == pytest.approx(bce - float(torch.logsumexp(log_p[1:], 0)))


def test_fit_with_classes_and_class_probabilities(data):
    model = _model(data).fit(data.videos, data.target, video_classes=data.video_classes)
    proba = model.predict_proba_clips(data.videos)
    assert [p.shape for p in proba] == [(len(v), 4) for v in data.videos]
    np.testing.assert_allclose([p.sum(axis=1) for p in proba][0], 1.0, rtol=1e-5)
    # the classes change training
    plain = _model(data).fit(data.videos, data.target)
    assert not np.allclose(plain.predict_proba_clips(data.videos[:1])[0], proba[0])


def test_long_test_videos_are_scored_in_independent_pieces(data):
    model = _model(data, max_length=16).fit([v[:16] for v in data.videos], data.target)
    video = np.concatenate(data.videos[:3])
    pieces = [video[i:i + 16] for i in range(0, len(video), 16)]
    np.testing.assert_allclose(model.score_clips([video])[0],
                               np.concatenate(model.score_clips(pieces)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("params, fit_kwargs, match", [
    ({"text_embeddings": None}, {}, "needs text_embeddings"),
    ({"text_embeddings": np.ones((1, 16))}, {}, "at least 2 rows"),
    ({"heads": 3}, {}, "must divide"),
    ({"max_length": 8}, {}, "pool the training videos first"),
    ({}, {"video_classes": [1] * 24}, "labelled normal in y but abnormal"),
    ({}, {"video_classes": np.zeros((24, 3), int)}, "3 columns but there are 4"),
])
def test_bad_settings_are_named(data, params, fit_kwargs, match):
    model = _model(data)
    model.set_params(**params)
    with pytest.raises(ValueError, match=match):
        model.fit(data.videos, data.target, **fit_kwargs)


def test_classes_routed_in_a_search_with_the_detection_scorer(data):
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline

    from sklearn_wsvad import SnippetReformer, make_detection_scorer

    seen = []

    class Spy(VadCLIPDetector):
        def fit(self, X, y, video_classes=None):
            seen.append(video_classes is not None)
            return super().fit(X, y, video_classes=video_classes)

    with sklearn.config_context(enable_metadata_routing=True):
        model = Spy(text_embeddings=data.text_embeddings, local_layers=1, window=4,
                    max_epochs=1, batch_size=8, random_state=0)
        model.set_fit_request(video_classes=True)
        pipe = make_pipeline(SnippetReformer(n_snippets=8), model)
        search = GridSearchCV(pipe, {"spy__lambda_text": [0.0, 0.1]}, cv=StratifiedKFold(2),
                              scoring=make_detection_scorer(normal="exclude"))
        search.fit(data.videos, data.target, video_classes=data.video_classes,
                   segments=data.segments)
    assert seen and all(seen)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


class _ToyTextEncoder(torch.nn.Module):
    """A causal text encoder: the cumulative sum of the token features, read
    at the end token and projected (the interface CLIP's text side follows)."""

    def __init__(self, d_token=6, width=16):
        super().__init__()
        self.mix = torch.nn.Linear(d_token, d_token)
        self.drop = torch.nn.Dropout(0.5)
        self.out = torch.nn.Linear(d_token, width)

    def forward(self, prompts, end):
        h = self.drop(torch.tanh(self.mix(prompts))).cumsum(dim=1)
        return self.out(h[torch.arange(len(prompts)), end])


class _OneDimensional(torch.nn.Module):
    def forward(self, prompts, end):
        return prompts.sum(dim=(1, 2))


class _PromptsBack(torch.nn.Module):
    def forward(self, prompts, end):
        return prompts


def _tokens(lengths=(3, 4, 5, 3), d_token=6):
    rng = np.random.default_rng(1)
    return [rng.normal(size=(n, d_token)) for n in lengths]


def test_learnable_prompt_layout_by_hand():
    tokens = _tokens()
    model = VadCLIPDetector(text_encoder=_ToyTextEncoder(), class_tokens=tokens,
                            prompt_prefix=2, prompt_postfix=3, module__n_features=16)
    module = model.initialize().module_
    prompts, end = module.prompt_embeddings()
    pre, post = module.prefix.detach().numpy(), module.postfix.detach().numpy()
    prompts = prompts.detach().numpy()
    assert prompts.shape == (4, 5 + 2 + 3, 6)  # longest name (5 tokens) + context
    for c, tok in enumerate(tokens):
        names = len(tok) - 2
        expected = np.concatenate([tok[:1], pre, tok[1:-1], post, tok[-1:]])
        assert end[c] == len(expected) - 1 == 1 + 2 + names + 3
        np.testing.assert_array_equal(prompts[c, :len(expected)], expected.astype(np.float32))
        assert not prompts[c, len(expected):].any()


def test_learnable_prompt_trains_the_context_and_never_the_encoder(data):
    import pickle

    from sklearn.base import clone
    encoder = _ToyTextEncoder()
    given = {k: v.clone() for k, v in encoder.state_dict().items()}
    model = VadCLIPDetector(text_encoder=encoder, class_tokens=_tokens(), local_layers=1,
                            window=4, max_epochs=3, batch_size=8, lr=1e-2, random_state=0)
    initial = clone(model).set_params(max_epochs=0).fit(
        data.videos, data.target, video_classes=data.video_classes).module_.prefix
    model.fit(data.videos, data.target,
                                       video_classes=data.video_classes)
    module = model.module_
    assert not torch.allclose(module.prefix.detach(), initial.detach())  # the context is learned
    for name, value in module.text_encoder.state_dict().items():
        torch.testing.assert_close(value, given[name], rtol=0, atol=0)  # frozen
        torch.testing.assert_close(encoder.state_dict()[name], given[name], rtol=0, atol=0)
    assert not module.text_encoder.training  # no dropout while training the model
    assert all(p.requires_grad for p in encoder.parameters())  # the user's object untouched
    assert model.get_params()["text_encoder"] is encoder
    proba = model.predict_proba_clips(data.videos[:2])
    assert proba[0].shape == (len(data.videos[0]), 4)
    again = pickle.loads(pickle.dumps(model)).predict_proba_clips(data.videos[:2])
    np.testing.assert_allclose(again[1], proba[1], rtol=1e-6)
    refit = clone(model).fit(data.videos, data.target, video_classes=data.video_classes)
    np.testing.assert_allclose(refit.predict_proba_clips(data.videos[:2])[1], proba[1],
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("params, error, match", [
    ({"class_tokens": None}, ValueError, "needs class_tokens"),
    ({"class_tokens": [np.ones((3, 6)), np.ones((3, 5))]}, ValueError, "one d_token"),
    ({"class_tokens": [np.ones((1, 6)), np.ones((3, 6))]}, ValueError, "at least 2 tokens"),
    ({"text_encoder": _OneDimensional()}, ValueError, "expected \\(n_classes, d\\)"),
    ({"text_encoder": _PromptsBack()}, ValueError, "expected \\(n_classes, d\\)"),
    ({"text_encoder": torch.nn.Linear(6, 16)}, ValueError, "text_encoder\\(prompts, end\\) failed"),
    ({"text_encoder": "clip"}, TypeError, "text_encoder. parameter of VadCLIPDetector must be"),
])
def test_bad_text_encoder_input_is_named(data, params, error, match):
    model = VadCLIPDetector(text_encoder=_ToyTextEncoder(), class_tokens=_tokens(),
                            max_epochs=1).set_params(**params)
    with pytest.raises(error, match=match):
        model.fit(data.videos, data.target)


def test_alignment_anomaly_score_is_one_minus_normal_probability(data):
    model = _model(data).fit(data.videos, data.target, video_classes=data.video_classes)
    coarse = model.score_clips(data.videos[:3])
    model.set_params(anomaly_score="alignment")
    aligned = model.score_clips(data.videos[:3])
    for a, c, p in zip(aligned, coarse, model.predict_proba_clips(data.videos[:3])):
        np.testing.assert_allclose(a, 1 - p[:, 0], rtol=1e-5, atol=1e-6)
        assert not np.allclose(a, c)
    np.testing.assert_allclose(model.decision_function(data.videos[:3]),
                               [s.max() for s in aligned], rtol=1e-5)


def test_checking_the_encoder_leaves_the_users_object_as_it_was(data):
    encoder = _ToyTextEncoder()
    encoder.train()
    encoder.out.eval()  # a mixed state the user chose
    model = VadCLIPDetector(text_encoder=encoder, class_tokens=_tokens(), max_epochs=1)
    assert model._text() == (4, 16)
    assert encoder.training and not encoder.out.training and encoder.drop.training
    assert all(p.requires_grad for p in encoder.parameters())


def test_class_tokens_as_tensors_and_the_rng_left_alone(data):
    tokens = [torch.as_tensor(t, dtype=torch.float32).requires_grad_() for t in _tokens()]
    encoder = _ToyTextEncoder()
    state = torch.random.get_rng_state()
    model = VadCLIPDetector(text_encoder=encoder, class_tokens=tokens, local_layers=1,
                            window=4, max_epochs=1, batch_size=8, random_state=0)
    model.fit(data.videos, data.target)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert model.predict_proba_clips(data.videos[:1])[0].shape[1] == 4


def test_initialize_before_fit_validates_the_text():
    with pytest.raises(ValueError, match="needs text_embeddings"):
        VadCLIPDetector(module__n_features=16).initialize()
    with pytest.raises(ValueError, match="odd width 3"):
        VadCLIPDetector(text_embeddings=[[1.0, 2, 3]] * 2, module__n_features=16).initialize()


def test_an_estimator_pickled_before_the_text_encoder_still_scores(data):
    import pickle

    model = _model(data).fit(data.videos, data.target)
    expected = model.score_clips(data.videos[:2])
    state = pickle.loads(pickle.dumps(model)).__getstate__()
    for name in ("text_encoder", "class_tokens", "prompt_prefix", "prompt_postfix",
                 "anomaly_score"):
        del state[name]
    old = VadCLIPDetector.__new__(VadCLIPDetector)
    old.__setstate__(state)
    del old.module_.text_encoder  # the module of that version had no such attribute
    for a, b in zip(old.score_clips(data.videos[:2]), expected):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert old.get_params()["anomaly_score"] == "coarse"


def test_positional_prompt_context_is_the_official_table():
    tokens = _tokens()
    model = VadCLIPDetector(text_encoder=_ToyTextEncoder(), class_tokens=tokens,
                            prompt_prefix=2, prompt_postfix=3, prompt_context="positional",
                            module__n_features=16)
    module = model.initialize().module_
    prompts, end = module.prompt_embeddings()
    table = module.context.detach().numpy()
    prompts = prompts.detach().numpy()
    assert table.shape == (5 + 2 + 3, 6) and prompts.shape == (4, 10, 6)
    for c, tok in enumerate(tokens):
        names = len(tok) - 2
        e = 1 + 2 + names + 3
        assert end[c] == e
        expected = np.concatenate([tok[:1], table[1:3], tok[1:-1], table[3 + names:e],
                                   tok[-1:], table[e + 1:]])
        np.testing.assert_array_equal(prompts[c], expected.astype(np.float32))
    # names of different lengths start their postfix at different table rows
    np.testing.assert_array_equal(prompts[0, 4], table[4])
    np.testing.assert_array_equal(prompts[1, 5], table[5])
    assert not module.prefix.requires_grad and module.context.requires_grad
