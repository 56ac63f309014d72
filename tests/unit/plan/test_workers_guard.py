"""A script that starts a study with local workers at import, without the
``if __name__ == "__main__":`` guard, stops with an error that says what to do (not a
bare BrokenProcessPool)."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_a_study_in_an_unguarded_script_says_to_add_the_guard(tmp_path):
    script = tmp_path / "study.py"
    script.write_text(
        textwrap.dedent(
            """
            from fd_bayes.plan.simstudy import run_study

            def job(index, seed):
                return {"sim": index}

            run_study(job, 4, 1, workers=2)
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode != 0
    assert "BrokenProcessPool" not in done.stderr.splitlines()[-1]
    assert 'if __name__ == "__main__":' in done.stderr.splitlines()[-1]


def test_the_guarded_script_runs(tmp_path):
    script = tmp_path / "study.py"
    script.write_text(
        textwrap.dedent(
            """
            from fd_bayes.plan.simstudy import run_study

            def job(index, seed):
                return {"sim": index}

            if __name__ == "__main__":
                run = run_study(job, 4, 1, workers=2)
                print(sorted(r["sim"] for r in run.records))
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[0, 1, 2, 3]"
