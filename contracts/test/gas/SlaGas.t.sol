// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {SlaFixture} from "../market/SlaFixture.sol";
import {ISlaMarket} from "../../src/market/ISlaMarket.sol";
import {Reputation} from "../../src/reputation/Reputation.sol";
import {MedianAggregator} from "../../src/aggregation/MedianAggregator.sol";
import {Vm} from "../utils/Vm.sol";

/// Gas of the SLA market's commit-reveal rounds, read by scripts/contracts-gas.sh.
///
/// Method (ADR 0005, decision 11): every figure is FULL TRANSACTION gas as an oracle's receipt
/// shows it, i.e. 21,000 (base) + calldata cost + execution gas, where
///   - execution gas is `vm.lastCallGas().gasTotalUsed` of the one external call made from the test
///     (the execution gas of that call frame; no refunds occur on these paths),
///   - calldata cost is 16 gas per nonzero and 4 gas per zero byte of the call's calldata
///     (EIP-2028; the market is compiled for Cancun, so the EIP-7623 floor does not apply).
/// Each measured call is preceded by `vm.cool` on every contract it touches: that marks their
/// storage cold and resets its original values, so each call is priced like the first call of a
/// fresh transaction (cold SLOADs, clean SSTOREs), even though a forge test runs in one transaction.
/// Answers are 8-decimal prices around 2,000 (realistic calldata), salts are full 32-byte words.
///
/// Keys:
///   commit_reveal.gas_commit        a commit that does not open the reveal phase (n = 7)
///   commit_reveal.gas_reveal        a reveal that does not end the round (n = 7)
///   commit_reveal.gas_per_oracle    the sum of the two (the ADR's budget: <= 90,000)
///   commit_reveal.gas_round_nN      a whole answered round with N oracles: N commits + N reveals,
///                                   the last reveal including aggregation (the real MedianAggregator),
///                                   payments, the real Reputation's record and the consumer callback
contract SlaGasTest is SlaFixture {
    Reputation internal gasReputation;
    MedianAggregator internal median;

    function setUp() public override {
        super.setUp();
        gasReputation = new Reputation(address(this));
        gasReputation.setWriter(address(market), true);
        median = new MedianAggregator();
    }

    /// @dev Full transaction gas of the last call, whose calldata was `data`.
    function _txGas(bytes memory data) internal view returns (uint256) {
        Vm.Gas memory g = vm.lastCallGas();
        return 21_000 + _calldataCost(data) + g.gasTotalUsed;
    }

    /// @dev EIP-2028 calldata cost: 16 per nonzero byte, 4 per zero byte.
    function _calldataCost(bytes memory data) internal pure returns (uint256 cost) {
        for (uint256 i = 0; i < data.length; ++i) {
            cost += data[i] == 0 ? 4 : 16;
        }
    }

    function _coolAll() internal {
        vmm.cool(address(market));
        vmm.cool(address(median));
        vmm.cool(address(gasReputation));
        vmm.cool(address(consumer));
    }

    function _gasSla(uint8 n) internal returns (uint256 slaId, uint256 roundId) {
        ISlaMarket.SlaTerms memory t = _terms(n);
        t.reputation = address(gasReputation);
        t.aggregator = address(median);
        (slaId, roundId) = _activeSla(t, n);
        vmm.roll(block.number + 2);
        vm.warp(block.timestamp + 12);
    }

    function _answer(uint256 i) internal pure returns (int256) {
        return int256(2000e8 + i * 1e6);
    }

    function _measuredCommit(uint256 slaId, uint256 roundId, uint256 i) internal returns (uint256) {
        address oracle = s_selected[slaId][i];
        bytes32 c = _commitmentOf(roundId, oracle, _answer(i), _salt(roundId, i));
        bytes memory data = abi.encodeCall(ISlaMarket.commit, (roundId, i, c));
        _coolAll();
        vm.prank(oracle);
        market.commit(roundId, i, c);
        return _txGas(data);
    }

    function _measuredReveal(uint256 slaId, uint256 roundId, uint256 i) internal returns (uint256) {
        address oracle = s_selected[slaId][i];
        bytes32 salt = _salt(roundId, i);
        bytes memory data = abi.encodeCall(ISlaMarket.reveal, (roundId, i, _answer(i), salt));
        _coolAll();
        vm.prank(oracle);
        market.reveal(roundId, i, _answer(i), salt);
        return _txGas(data);
    }

    function test_gas_commitReveal_perOracle() public {
        (uint256 slaId, uint256 roundId) = _gasSla(7);
        uint256 commitGas = _measuredCommit(slaId, roundId, 3);
        for (uint256 i = 0; i < 7; ++i) {
            if (i != 3) _commit(slaId, roundId, i, _answer(i));
        }
        uint256 revealGas = _measuredReveal(slaId, roundId, 3);
        assertLe(commitGas + revealGas, 90_000, "ADR 0005 budget: commit + reveal <= 90,000 per oracle");
        emit log_named_uint("commit_reveal.gas_commit", commitGas);
        emit log_named_uint("commit_reveal.gas_reveal", revealGas);
        emit log_named_uint("commit_reveal.gas_per_oracle", commitGas + revealGas);
    }

    function _measureRound(uint8 n) internal returns (uint256 total) {
        (uint256 slaId, uint256 roundId) = _gasSla(n);
        uint256 maxCommit;
        for (uint256 i = 0; i < n; ++i) {
            uint256 g = _measuredCommit(slaId, roundId, i);
            if (i + 1 < n && g > maxCommit) maxCommit = g;
            total += g;
        }
        uint256 maxReveal;
        uint256 last;
        for (uint256 i = 0; i < n; ++i) {
            uint256 g = _measuredReveal(slaId, roundId, i);
            if (i + 1 < n && g > maxReveal) maxReveal = g;
            last = g;
            total += g;
        }
        assertTrue(_round(roundId).status == ISlaMarket.RoundStatus.Answered, "answered");
        assertEq(consumer.calls(), 1, "callback made");
        assertEq(gasReputation.recordOf(s_selected[slaId][0], JOB_TYPE).completed, 1, "reputation recorded");
        if (n > 1) assertLe(maxCommit + maxReveal, 90_000, "every non-finalising commit + reveal within budget");
        emit log_named_uint(string.concat("commit_reveal.gas_finalising_reveal_n", vmm.toString(n)), last);
    }

    function test_gas_round_n4() public {
        emit log_named_uint("commit_reveal.gas_round_n4", _measureRound(4));
    }

    function test_gas_round_n7() public {
        emit log_named_uint("commit_reveal.gas_round_n7", _measureRound(7));
    }

    function test_gas_round_n16() public {
        emit log_named_uint("commit_reveal.gas_round_n16", _measureRound(16));
    }

    function test_gas_round_n31() public {
        emit log_named_uint("commit_reveal.gas_round_n31", _measureRound(31));
    }
}
