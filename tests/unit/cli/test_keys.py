"""generate-key-pair, import-key-pair and public-key through the real entry point and its error boundary."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from supplychain import keys
from supplychain.cli import keys as cli_keys
from supplychain.errors import ExitCode
from tests.support.fixture import fixture_path
from tests.support.signatures import CliResult, run_cli, typed

COSIGN = ("vectors", "keys", "sigstore-cosign", "pkg", "cosign", "keys_test_consts")
POLICY_CONTROLLER = ("vectors", "keys", "sigstore-policy-controller", "examples", "keys")
NO_PASSWORD_MESSAGE = (
    "no password: set SUPPLYCHAIN_PASSWORD (or COSIGN_PASSWORD), pass --password-stdin, or run in a terminal"
)


def run(args: list[str], *, input: str | bytes | io.BytesIO | None = None,
        env: dict[str, str | None] | None = None) -> CliResult:
    """Run ``supplychain ARGS`` through ``cli.main.main`` (the one boundary), with isolated stdio and env."""
    return run_cli(args, input=input, env=env)


def assert_one_line_error(result: CliResult, code: ExitCode, *fragments: str) -> None:
    assert result.code == code, result
    assert "Traceback" not in result.stderr
    lines = result.error_lines
    assert lines[0].startswith("error: ")
    assert all(line.startswith("hint: ") for line in lines[1:]) and len(lines) <= 2
    for fragment in fragments:
        assert fragment in lines[0]


def test_algorithm_choices_match_the_library():
    assert list(cli_keys.ALGORITHMS) == [a.value for a in keys.KeyAlgorithm]
    assert cli_keys.ALGORITHMS[0] == keys.DEFAULT_ALGORITHM


# -- generate-key-pair --------------------------------------------------------------------------------------------


def test_generate_with_env_password(tmp_path: Path):
    prefix = tmp_path / "cosign"
    result = run(["generate-key-pair", "--output-key-prefix", str(prefix)], env={"SUPPLYCHAIN_PASSWORD": "s3cret"})
    assert result.code == 0, result
    assert result.stdout == ""
    assert result.error_lines == [f"Private key written to {prefix}.key", f"Public key written to {prefix}.pub"]
    private_key = keys.decrypt_private_key((tmp_path / "cosign.key").read_bytes(), "s3cret")
    assert private_key.algorithm == "ecdsa-p256"
    assert keys.load_public_key_pem((tmp_path / "cosign.pub").read_bytes()) == private_key.public_key()
    assert stat.S_IMODE((tmp_path / "cosign.key").stat().st_mode) == 0o600


def test_default_prefix_is_cosign_in_the_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    result = run(["generate-key-pair"], env={"COSIGN_PASSWORD": ""})
    assert result.error_lines == ["Private key written to cosign.key", "Public key written to cosign.pub"]
    assert sorted(os.listdir(tmp_path)) == ["cosign.key", "cosign.pub"]


def test_supplychain_password_wins_over_cosign_password(tmp_path: Path):
    env = {"SUPPLYCHAIN_PASSWORD": "ours", "COSIGN_PASSWORD": "theirs"}
    assert run(["generate-key-pair", "--output-key-prefix", str(tmp_path / "k")], env=env).code == 0
    data = (tmp_path / "k.key").read_bytes()
    keys.decrypt_private_key(data, "ours")
    with pytest.raises(keys.WrongPasswordError):
        keys.decrypt_private_key(data, "theirs")


def test_cosign_password_is_used_and_may_be_empty(tmp_path: Path):
    assert run(["generate-key-pair", "--output-key-prefix", str(tmp_path / "k")], env={"COSIGN_PASSWORD": ""}).code == 0
    keys.decrypt_private_key((tmp_path / "k.key").read_bytes(), "")


def test_password_stdin_reads_one_line(tmp_path: Path):
    result = run(
        ["generate-key-pair", "--password-stdin", "--output-key-prefix", str(tmp_path / "k")],
        input=b"from stdin\r\nignored\n",
    )
    assert result.code == 0, result
    keys.decrypt_private_key((tmp_path / "k.key").read_bytes(), "from stdin")


def test_password_stdin_wins_over_the_environment(tmp_path: Path):
    result = run(
        ["generate-key-pair", "--password-stdin", "--output-key-prefix", str(tmp_path / "k")],
        input="explicit\n",
        env={"SUPPLYCHAIN_PASSWORD": "ambient"},
    )
    assert result.code == 0, result
    keys.decrypt_private_key((tmp_path / "k.key").read_bytes(), "explicit")


def test_prompt_asks_twice(tmp_path: Path):
    result = run(["generate-key-pair", "--output-key-prefix", str(tmp_path / "k")], input=typed("typed\ntyped\n"))
    assert result.code == 0, result
    assert result.stderr.count("Enter password for private key") == 2
    assert "typed" not in result.stderr + result.stdout  # hidden input is not echoed
    keys.decrypt_private_key((tmp_path / "k.key").read_bytes(), "typed")


def test_prompt_mismatch_is_an_error_and_writes_nothing(tmp_path: Path):
    result = run(["generate-key-pair", "--output-key-prefix", str(tmp_path / "k")], input=typed("one\ntwo\n"))
    assert_one_line_error(result, ExitCode.INVALID_INPUT, "passwords do not match")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "args",
    [["generate-key-pair"], ["import-key-pair", "--key", str(fixture_path(*COSIGN, "ed25519key.pem"))]],
    ids=["generate", "import"],
)
def test_no_password_source_and_no_terminal_is_an_error_not_an_abort(tmp_path: Path, args: list[str]):
    result = run([*args, "--output-key-prefix", str(tmp_path / "k")], input="piped\npiped\n")  # a pipe, not a TTY
    assert_one_line_error(result, ExitCode.INVALID_INPUT, NO_PASSWORD_MESSAGE)
    assert "Enter password" not in result.stderr
    assert os.listdir(tmp_path) == []


def test_public_key_with_no_password_source_and_no_terminal_is_an_error():
    result = run(["public-key", "--key", str(fixture_path(*COSIGN, "pemsigstorekey.pem"))])  # stdin is empty
    assert_one_line_error(result, ExitCode.INVALID_INPUT, NO_PASSWORD_MESSAGE)
    assert result.stdout == ""


@pytest.mark.parametrize("argv", [["--password", "x"], ["--password=x"], ["-p", "x"]])
def test_password_cannot_be_given_in_argv(tmp_path: Path, argv: list[str]):
    result = run(["generate-key-pair", "--output-key-prefix", str(tmp_path / "k"), *argv])
    assert result.code == ExitCode.USAGE
    assert "No such option" in result.stderr
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("algorithm", cli_keys.ALGORITHMS)
def test_generate_every_algorithm(tmp_path: Path, algorithm: str):
    result = run(
        ["generate-key-pair", "--algorithm", algorithm, "--output-key-prefix", str(tmp_path / "k")],
        env={"SUPPLYCHAIN_PASSWORD": "pw"},
    )
    assert result.code == 0, result
    private_key = keys.decrypt_private_key((tmp_path / "k.key").read_bytes(), "pw")
    expected = {"rsa-2048": "rsa-2048", "rsa-3072": "rsa-3072", "rsa-4096": "rsa-4096"}.get(algorithm, algorithm)
    assert private_key.algorithm == expected
    assert keys.verify(private_key.public_key(), keys.sign(private_key, b"m"), b"m")


def test_unknown_algorithm_is_a_usage_error(tmp_path: Path):
    result = run(["generate-key-pair", "--algorithm", "dsa", "--output-key-prefix", str(tmp_path / "k")])
    assert result.code == ExitCode.USAGE
    assert os.listdir(tmp_path) == []


def test_existing_key_is_kept_without_force_and_no_password_is_asked(tmp_path: Path):
    (tmp_path / "k.key").write_bytes(b"precious")
    result = run(["generate-key-pair", "--output-key-prefix", str(tmp_path / "k")])  # no input: a prompt would abort
    assert_one_line_error(result, ExitCode.INVALID_INPUT, "refusing to overwrite", "k.key")
    assert "--force" in result.error_lines[1]
    assert sorted(os.listdir(tmp_path)) == ["k.key"]
    assert (tmp_path / "k.key").read_bytes() == b"precious"


def test_force_overwrites(tmp_path: Path):
    (tmp_path / "k.key").write_bytes(b"old")
    (tmp_path / "k.pub").write_bytes(b"old")
    result = run(
        ["generate-key-pair", "--force", "--output-key-prefix", str(tmp_path / "k")], env={"COSIGN_PASSWORD": "x"}
    )
    assert result.code == 0, result
    keys.decrypt_private_key((tmp_path / "k.key").read_bytes(), "x")
    assert sorted(os.listdir(tmp_path)) == ["k.key", "k.pub"]


def test_unwritable_target_is_one_line_error(tmp_path: Path):
    result = run(
        ["generate-key-pair", "--output-key-prefix", str(tmp_path / "missing" / "k")], env={"COSIGN_PASSWORD": "x"}
    )
    assert_one_line_error(result, ExitCode.INVALID_INPUT, "cannot write")
    assert os.listdir(tmp_path) == []


# -- import-key-pair ------------------------------------------------------------------------------------------------


def import_cases() -> list[dict[str, str | None]]:
    document = json.loads(fixture_path(*COSIGN, "EXPECTED.json").read_bytes())
    cases: list[dict[str, str | None]] = next(v for k, v in document.items() if k.startswith("ImportKeyPair"))
    return cases


@pytest.mark.parametrize("name", [str(c["file"]) for c in import_cases() if c["expected_error"] is None])
def test_import_valid_key(tmp_path: Path, name: str):
    source = fixture_path(*COSIGN, name)
    prefix = tmp_path / "import-cosign"
    result = run(
        ["import-key-pair", "--key", str(source), "--output-key-prefix", str(prefix)], env={"COSIGN_PASSWORD": "hello"}
    )
    assert result.code == 0, result
    assert result.error_lines == [f"Private key written to {prefix}.key", f"Public key written to {prefix}.pub"]
    original = keys.load_private_key_pem(source.read_bytes())
    imported = keys.decrypt_private_key((tmp_path / "import-cosign.key").read_bytes(), "hello")
    assert imported.public_key() == original.public_key()
    assert (tmp_path / "import-cosign.key").read_bytes().startswith(b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----")
    assert stat.S_IMODE((tmp_path / "import-cosign.key").stat().st_mode) == 0o600


@pytest.mark.parametrize("name", [str(c["file"]) for c in import_cases() if c["expected_error"] is not None])
def test_import_invalid_key_is_refused_with_one_line(tmp_path: Path, name: str):
    result = run(
        ["import-key-pair", "-k", str(fixture_path(*COSIGN, name)), "--output-key-prefix", str(tmp_path / "i")],
        env={"COSIGN_PASSWORD": "hello"},
    )
    assert_one_line_error(result, ExitCode.INVALID_INPUT)
    assert os.listdir(tmp_path) == []


def test_import_rejects_missing_truncated_and_encrypted_files(tmp_path: Path):
    prefix = ["--output-key-prefix", str(tmp_path / "i")]
    env = {"COSIGN_PASSWORD": "x"}
    assert_one_line_error(
        run(["import-key-pair", "--key", str(tmp_path / "none.pem"), *prefix], env=env),
        ExitCode.INVALID_INPUT,
        "does not exist",
    )
    truncated = tmp_path / "truncated.pem"
    truncated.write_bytes(fixture_path(*COSIGN, "validrsa.pem").read_bytes()[:300])
    assert_one_line_error(
        run(["import-key-pair", "--key", str(truncated), *prefix], env=env), ExitCode.INVALID_INPUT, "truncated"
    )
    encrypted = str(fixture_path(*POLICY_CONTROLLER, "cosign.key"))
    assert_one_line_error(
        run(["import-key-pair", "--key", encrypted, *prefix], env=env), ExitCode.INVALID_INPUT, "encrypted cosign key"
    )
    assert sorted(os.listdir(tmp_path)) == ["truncated.pem"]


def test_import_prompts_twice_for_the_new_password(tmp_path: Path):
    source = str(fixture_path(*COSIGN, "ed25519key.pem"))
    result = run(
        ["import-key-pair", "--key", source, "--output-key-prefix", str(tmp_path / "i")], input=typed("new\nnew\n")
    )
    assert result.code == 0, result
    assert keys.decrypt_private_key((tmp_path / "i.key").read_bytes(), "new").algorithm == "ed25519"


# -- public-key ----------------------------------------------------------------------------------------------------


def test_public_key_of_an_encrypted_key_matches_cosign_pub():
    result = run(
        ["public-key", "--key", str(fixture_path(*POLICY_CONTROLLER, "cosign.key"))], env={"COSIGN_PASSWORD": ""}
    )
    assert result.code == 0, result
    assert result.stdout == fixture_path(*POLICY_CONTROLLER, "cosign.pub").read_text()


def test_public_key_prompts_once_for_an_encrypted_key():
    key = str(fixture_path(*COSIGN, "pemsigstorekey.pem"))
    result = run(["public-key", "--key", key], input=typed("hello\n"))
    assert result.code == 0, result
    assert result.stderr.count("Enter password for private key") == 1
    assert "-----BEGIN PUBLIC KEY-----" in result.stdout


def test_public_key_password_from_stdin():
    key = str(fixture_path(*COSIGN, "pemcosignkey.pem"))
    result = run(["public-key", "--password-stdin", "--key", key], input="hello\n")
    assert result.code == 0, result
    assert result.stdout.startswith("-----BEGIN PUBLIC KEY-----")


def test_public_key_wrong_password_is_one_line():
    key = str(fixture_path(*COSIGN, "pemcosignkey.pem"))
    result = run(["public-key", "--key", key], env={"SUPPLYCHAIN_PASSWORD": "nope"})
    assert_one_line_error(result, ExitCode.INVALID_INPUT, "wrong password")
    assert result.stdout == ""


def test_public_key_refuses_sec1_inside_the_envelope():
    key = str(fixture_path(*COSIGN, "pemcosigneckey.pem"))
    result = run(["public-key", "--key", key], env={"SUPPLYCHAIN_PASSWORD": "hello"})
    assert_one_line_error(result, ExitCode.INVALID_INPUT, "SEC1", "not PKCS#8")


def test_public_key_of_a_plain_key_and_to_a_file(tmp_path: Path):
    out = tmp_path / "out.pub"
    result = run(["public-key", "--key", str(fixture_path(*COSIGN, "validecp384.pem")), "--outfile", str(out)])
    assert result.code == 0, result
    assert result.stdout == ""
    assert result.error_lines == [f"Public key written to {out}"]
    assert keys.load_public_key_pem(out.read_bytes()).algorithm == "ecdsa-p384"


def test_public_key_of_a_truncated_key_is_one_line(tmp_path: Path):
    truncated = tmp_path / "cut.key"
    truncated.write_bytes(fixture_path(*POLICY_CONTROLLER, "cosign.key").read_bytes()[:-30])
    assert_one_line_error(
        run(["public-key", "--key", str(truncated)], env={"COSIGN_PASSWORD": ""}), ExitCode.INVALID_INPUT, "truncated"
    )


def test_round_trip_generate_then_public_key(tmp_path: Path):
    env = {"SUPPLYCHAIN_PASSWORD": "pw"}
    assert (
        run(["generate-key-pair", "--algorithm", "ed25519", "--output-key-prefix", str(tmp_path / "k")], env=env).code
        == 0
    )
    result = run(["public-key", "--key", str(tmp_path / "k.key")], env=env)
    assert result.stdout == (tmp_path / "k.pub").read_text()


# -- start-up cost ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["--help"], ["generate-key-pair", "--help"], ["public-key", "--help"]])
def test_help_does_not_import_cryptography(args: list[str]):
    script = (
        "import sys\n"
        "from supplychain.cli.main import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('cryptography', 'nacl')))\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert completed.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("prefix", ["", "keys/", ".", ".."])
def test_output_key_prefix_must_name_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prefix: str):
    monkeypatch.chdir(tmp_path)
    result = run(["generate-key-pair", "--output-key-prefix", prefix], env={"COSIGN_PASSWORD": ""})
    assert result.code == 2
    assert os.listdir(tmp_path) == []


# -- key references (env://), named key errors, password sources (issue 8, items 7, 16, 18) ---------------------


def hint_of(result: CliResult) -> str:
    return next(line for line in result.error_lines if line.startswith("hint: "))


def test_public_key_reads_the_key_from_an_environment_variable():
    pem = fixture_path(*COSIGN, "validecp256.pem").read_text()
    from_file = run(["public-key", "--key", str(fixture_path(*COSIGN, "validecp256.pem"))])
    result = run(["public-key", "--key", "env://SIGNING_KEY"], env={"SIGNING_KEY": pem})
    assert result.code == 0, result
    assert result.stdout == from_file.stdout and result.stdout.startswith("-----BEGIN PUBLIC KEY-----")


def test_public_key_of_an_encrypted_key_in_an_environment_variable(tmp_path: Path):
    assert run(["generate-key-pair", "--output-key-prefix", str(tmp_path / "k")],
               env={"SUPPLYCHAIN_PASSWORD": "pw"}).code == 0
    result = run(["public-key", "--key", "env://COSIGN_KEY"],
                 env={"COSIGN_KEY": (tmp_path / "k.key").read_text(), "COSIGN_PASSWORD": "pw"})
    assert result.code == 0, result
    assert result.stdout == (tmp_path / "k.pub").read_text()


@pytest.mark.parametrize("value", [None, "", "  \n"])
def test_missing_or_empty_key_variable_is_named(value: str | None):
    result = run(["public-key", "--key", "env://SIGNING_KEY"], env={"SIGNING_KEY": value})  # type: ignore[dict-item]
    state = "is not set" if value is None else "is empty"
    assert_one_line_error(result, ExitCode.INVALID_INPUT, f"environment variable SIGNING_KEY {state}")
    assert "export SIGNING_KEY" in hint_of(result)


def test_key_errors_name_the_file_and_variable(tmp_path: Path):
    garbage = tmp_path / "garbage.key"
    garbage.write_text("not a key\n")
    result = run(["public-key", "--key", str(garbage)])
    assert_one_line_error(result, ExitCode.INVALID_INPUT, f"key file {garbage}: not a PEM file")
    assert "PKCS#8" in hint_of(result) and "PUBLIC KEY PEM" not in hint_of(result)  # a private key is wanted
    result = run(["public-key", "--key", "env://K"], env={"K": "not a key"})
    assert_one_line_error(result, ExitCode.INVALID_INPUT, "environment variable K: not a PEM file")
    result = run(["import-key-pair", "--key", str(garbage), "--output-key-prefix", str(tmp_path / "i")],
                 env={"SUPPLYCHAIN_PASSWORD": "pw"})
    assert_one_line_error(result, ExitCode.INVALID_INPUT, f"key file {garbage}: not a PEM file")


def test_wrong_password_typed_at_the_prompt_is_not_blamed_on_the_environment():
    key = str(fixture_path(*COSIGN, "pemsigstorekey.pem"))  # its password is "hello"
    result = run(["public-key", "--key", key], input=typed("certainly wrong\n"))
    assert_one_line_error(result, ExitCode.INVALID_INPUT, "wrong password")
    assert "typed at the prompt is wrong" in hint_of(result)
    assert "SUPPLYCHAIN_PASSWORD" not in hint_of(result)


def test_wrong_password_names_the_variable_it_came_from(tmp_path: Path):
    assert run(["generate-key-pair", "--output-key-prefix", str(tmp_path / "k")],
               env={"SUPPLYCHAIN_PASSWORD": "right"}).code == 0
    key = str(tmp_path / "k.key")
    result = run(["public-key", "--key", key], env={"COSIGN_PASSWORD": "wrong"})
    assert_one_line_error(result, ExitCode.INVALID_INPUT, f"key file {key}", "wrong password")
    assert "the password from COSIGN_PASSWORD is wrong" in hint_of(result)
    result = run(["public-key", "--key", key], env={"SUPPLYCHAIN_PASSWORD": "wrong", "COSIGN_PASSWORD": "right"})
    assert "the password from SUPPLYCHAIN_PASSWORD is wrong (COSIGN_PASSWORD is set too but was not used)" in (
        hint_of(result))
    result = run(["public-key", "--key", key, "--password-stdin"], input="wrong\n")
    assert "--password-stdin" in hint_of(result)


def test_an_empty_supplychain_password_does_not_shadow_cosign_password(tmp_path: Path):
    assert run(["generate-key-pair", "--output-key-prefix", str(tmp_path / "k")],
               env={"COSIGN_PASSWORD": "right"}).code == 0
    key = str(tmp_path / "k.key")
    result = run(["public-key", "--key", key], env={"SUPPLYCHAIN_PASSWORD": "", "COSIGN_PASSWORD": "right"})
    assert result.code == 0, result
    result = run(["public-key", "--key", key], env={"SUPPLYCHAIN_PASSWORD": "", "COSIGN_PASSWORD": "wrong"})
    assert "COSIGN_PASSWORD is wrong (SUPPLYCHAIN_PASSWORD is set but empty, so COSIGN_PASSWORD was used)" in (
        hint_of(result))
    # Alone, an empty variable is still the empty password, as cosign's COSIGN_PASSWORD= is.
    assert run(["generate-key-pair", "--output-key-prefix", str(tmp_path / "e")],
               env={"SUPPLYCHAIN_PASSWORD": ""}).code == 0
    keys.decrypt_private_key((tmp_path / "e.key").read_bytes(), "")


@pytest.mark.parametrize("stdin", ["", "\n", "\r\n"])
@pytest.mark.parametrize("command", ["generate-key-pair", "import-key-pair"])
def test_empty_password_stdin_is_refused_for_a_new_key(tmp_path: Path, stdin: str, command: str):
    extra = ["--key", str(fixture_path(*COSIGN, "validecp256.pem"))] if command == "import-key-pair" else []
    prefix = tmp_path / "k"
    result = run([command, *extra, "--password-stdin", "--output-key-prefix", str(prefix)], input=stdin)
    assert_one_line_error(result, ExitCode.INVALID_INPUT, "--password-stdin read an empty password")
    assert "--allow-empty-password" in hint_of(result)
    assert list(tmp_path.iterdir()) == []
    result = run([command, *extra, "--password-stdin", "--allow-empty-password", "--output-key-prefix",
                  str(prefix)], input=stdin)
    assert result.code == 0, result
    keys.decrypt_private_key((tmp_path / "k.key").read_bytes(), "")
