"""Prefect's offline defaults are read by Prefect itself (a renamed setting would silently do nothing)."""

import os
import subprocess
import sys


def test_the_temporary_server_gets_time_to_start_on_a_busy_machine():
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_SERVER_EPHEMERAL")}
    code = ("from trust_tagger.prefect_env import configure; configure(); "
            "from prefect.settings import get_current_settings; "
            "print(get_current_settings().server.ephemeral.startup_timeout_seconds)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert int(out.stdout.strip()) == 180
