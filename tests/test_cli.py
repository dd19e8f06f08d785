"""`flask users ...`."""

from app.models import Role
from app.services import accounts


def test_users_create_reads_password_from_stdin(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["users", "create", "modmary", "--role", "moderator", "--password-stdin"],
        input="a strong password\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created modmary (moderator)" in result.output
    user = accounts.find_by_username("MODMARY")
    assert user.role == Role.moderator
    assert user.check_password("a strong password")


def test_users_create_prompts_for_the_password(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["users", "create", "promptpat"], input="pw pw pw pw\npw pw pw pw\n"
    )
    assert result.exit_code == 0, result.output
    assert accounts.find_by_username("promptpat").check_password("pw pw pw pw")


def test_users_create_refuses_bad_input_clearly(app, db, make_user):
    make_user("taken")
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["users", "create", "TAKEN", "--password-stdin"], input="a strong password\n"
    )
    assert result.exit_code != 0
    assert "That username is taken." in result.output
    result = runner.invoke(args=["users", "create", "shorty", "--password-stdin"], input="short\n")
    assert result.exit_code != 0
    assert "at least 8" in result.output


def test_users_set_role(app, db, make_user):
    make_user("promoted")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "set-role", "promoted", "admin"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert accounts.find_by_username("promoted").role == Role.admin
    result = runner.invoke(args=["users", "set-role", "ghost", "admin"])
    assert result.exit_code != 0
    assert "No member is called 'ghost'" in result.output
    result = runner.invoke(args=["users", "set-role", "promoted", "emperor"])
    assert result.exit_code != 0
