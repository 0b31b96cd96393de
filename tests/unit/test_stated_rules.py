"""What the OpenAPI document states about a command's fields is what the command takes:
whole numbers as JSON writes them, fees in plain decimal text, authenticator secrets as
/api/auth/totp/setup gives them out."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pyotp
import pytest
from pydantic import TypeAdapter, ValidationError

from commands.identity import EnableTotp
from commands.scheduling import Minutes
from commands.treatments import Fee

MINUTES = TypeAdapter(Minutes)
FEE = TypeAdapter(Fee)


def test_a_duration_json_writes_as_30_point_0_is_thirty_minutes() -> None:
    assert MINUTES.validate_python(30.0) == 30
    assert MINUTES.json_schema() == {"type": "integer", "minimum": 5, "maximum": 480}


@pytest.mark.parametrize("minutes", ["30", True, 30.5, 4.0, 485])
def test_a_duration_that_is_not_a_whole_number_of_minutes_in_range_is_refused(
    minutes: Any,
) -> None:
    with pytest.raises(ValidationError):
        MINUTES.validate_python(minutes)


@pytest.mark.parametrize("text", ["45.50", "45", ".5", "-10.00", "10.005", "9999999999.999"])
def test_a_fee_in_plain_decimal_text_is_taken_as_the_document_says(text: str) -> None:
    text_branch = FEE.json_schema()["anyOf"][1]
    assert re.match(text_branch["pattern"], text)
    assert FEE.validate_python(text) == Decimal(text)


@pytest.mark.parametrize(
    "text", [" 45", "45 ", "1e3", "1_000", "٣", "", "NaN", "-174842989396", "10000000000"]
)
def test_a_fee_the_document_does_not_state_is_refused(text: str) -> None:
    assert not re.match(FEE.json_schema()["anyOf"][1]["pattern"], text)
    with pytest.raises(ValidationError):
        FEE.validate_python(text)


def test_an_authenticator_secret_is_taken_as_setup_gives_it_out_and_not_padded() -> None:
    secret = pyotp.random_base32()
    assert EnableTotp(secret=secret, code="123456").secret == secret
    with pytest.raises(ValidationError):
        EnableTotp(secret=secret[:26] + "======", code="123456")
