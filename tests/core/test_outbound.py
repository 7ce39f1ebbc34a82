"""The program's own calls (lepton_infra.outbound): real outside the harness, answered by the provider mocks inside it."""

from __future__ import annotations

import pulumi
import pytest

from lepton_infra import outbound
from lepton_infra.testing import run
from lepton_infra.testing.mocks import RealisticMocks

EXCHANGE = "azure-native:containerregistry/oauth2:exchange"


def test_outside_an_offline_run_the_real_implementation_is_called():
    assert outbound.call(EXCHANGE, lambda *args: ("real", args), "a", 1) == ("real", ("a", 1))


def test_within_answered_by_the_answer_is_given_the_calls_name_and_arguments_and_is_removed_after():
    with outbound.answered_by(lambda name, args: (name, args)):
        assert outbound.call(EXCHANGE, lambda *args: "real", "a") == (EXCHANGE, ("a",))
    assert outbound.call(EXCHANGE, lambda *args: "real") == "real"


def test_an_offline_run_answers_inside_apply_from_the_provider_mocks_without_the_real_call():
    real_calls = []

    def program():
        answer = pulumi.Output.from_input("registry.azurecr.io").apply(
            lambda server: outbound.call(EXCHANGE, lambda *a: real_calls.append(a), server, "tenant", "not-a-jwt.e30.x")
        )
        pulumi.export("answer", answer)

    with pytest.raises(ValueError, match="refuses a token for audience None"):
        run(program)  # the Azure mocks' exchange checks the token's audience, as the registry does
    assert real_calls == []


def test_a_call_no_mock_module_answers_names_where_to_add_one():
    with pytest.raises(NotImplementedError, match="OUTBOUND of its provider's module"):
        RealisticMocks().outbound("azure-native:nothing:here", ())
