"""The tf-idf active-learning baseline on papers whose targets share words the others lack."""

import random

from trust_tagger.simulate.baselines import active_learning
from trust_tagger.simulate.metrics import wss

TOPIC = "jailbreak attack on audio language model safety harmful"
OTHER = ["speech enhancement denoising network", "music generation diffusion", "neural codec bitrate compression",
         "text to speech prosody naturalness", "speaker diarization meeting"]


def papers(n, every, seed):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        target = i % every == 0
        words = (TOPIC if target else rng.choice(OTHER)).split()
        out.append(({"key": f"k{seed}-{i}", "title": f"paper {i}", "abstract": " ".join(rng.sample(words, len(words)))},
                    target))
    return out


def test_max_sampling_finds_the_targets_early_and_screens_each_paper_once():
    prior = papers(40, 4, seed=1)
    pool = papers(100, 10, seed=2)
    records, targets = [p for p, _ in pool], [t for _, t in pool]
    log = active_learning(records, targets, [p for p, _ in prior], [t for _, t in prior])
    assert sorted(s.key for s in log) == sorted(r["key"] for r in records)
    assert all(s.target for s in log[:10])  # the 10 targets come first
    assert wss(log, 10, 100) == 0.9 - 0.05


def test_weekly_budget_screens_only_papers_that_have_arrived():
    prior = papers(40, 4, seed=3)
    pool = papers(60, 6, seed=4)
    arrival = [i // 20 for i in range(60)]  # three weeks of 20 papers
    log = active_learning([p for p, _ in pool], [t for _, t in pool], [p for p, _ in prior], [t for _, t in prior],
                          arrival=arrival, weekly_budget=4)
    week_of = {p["key"]: arrival[i] for i, (p, _) in enumerate(pool)}
    reviewed = [s for s in log if s.how == "review"]
    assert len(reviewed) == 12 and len(log) == 60 and [s.how for s in log[12:]] == ["tail"] * 48
    for position, s in enumerate(reviewed):
        assert week_of[s.key] <= position // 4  # screened in week position // 4, never before it arrived
