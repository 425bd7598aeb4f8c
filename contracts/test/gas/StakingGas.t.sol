// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {StakingFixture} from "../staking/StakingFixture.sol";
import {Vm} from "../utils/Vm.sol";
import {IERC677} from "../../src/token/IERC677.sol";
import {Node} from "../../src/staking/Node.sol";

/// Gas of staking, withdrawing and distributing with 1, 100 and 10,000 existing stakers.
///
/// Method: every figure is FULL TRANSACTION gas, as a receipt would show it:
///     execution gas of the measured call (`vm.lastCallGas().gasTotalUsed`)
///   + 21,000 (transaction base cost)
///   + calldata cost of the call's ABI-encoded input (16 gas per non-zero byte, 4 per zero byte).
/// Each measured call is the only call of its test function; the stakers and the profit to
/// distribute are created in `setUp`, which forge runs as a separate transaction, so the
/// measured call starts with cold storage and cold accounts like a real transaction.
/// - stake: a new staker (funded in setUp) calls `link.transferAndCall(node, 1 LINK, stake())`.
/// - withdraw: an existing staker calls `Node.withdraw(node, 0.5 LINK)` (partial exit; it also
///   settles that staker's rewards).
/// - distribute: anyone calls `Node.distribute(node)` with 10 LINK of new profit.
/// The figures are emitted as `log_named_uint` (`staking.gas_<op>_<stakers>`). The accounting
/// is O(1) in the number of stakers (shares + reward-per-share accumulator), so each figure
/// must be the same for 1, 100 and 10,000 stakers; `_assertBound` also caps each one.
abstract contract StakingGasBase is StakingFixture {
    address internal newcomer;
    address internal firstStaker;

    function _stakers() internal pure virtual returns (uint256);

    function _suffix() internal pure virtual returns (string memory);

    function setUp() public override {
        super.setUp();
        uint256 n = _stakers();
        // Cheap bulk setup: one funding transfer, then each staker stakes 1 LINK.
        for (uint256 i = 0; i < n; ++i) {
            address s = address(uint160(0x100000 + i));
            link.transfer(s, 1 ether);
            vm.prank(s);
            link.transferAndCall(node, 1 ether, STAKE);
        }
        firstStaker = address(uint160(0x100000));
        newcomer = makeAddr("newcomer");
        link.transfer(newcomer, 1 ether);
        // Give the existing stakers rewards (so withdraw settles a non-zero credit) and leave a
        // new profit to distribute.
        _income(10 ether);
        _distribute();
        _income(10 ether);
    }

    function _txGas(bytes memory callData) internal view returns (uint256 total) {
        Vm.Gas memory gas = vm.lastCallGas();
        total = gas.gasTotalUsed + 21_000;
        for (uint256 i = 0; i < callData.length; ++i) {
            total += callData[i] == 0 ? 4 : 16;
        }
    }

    function _assertBound(uint256 gas, uint256 bound_) internal pure {
        assertLt(gas, bound_, "gas within bound");
    }

    function test_gas_stake() public {
        bytes memory callData = abi.encodeCall(IERC677.transferAndCall, (node, 1 ether, STAKE));
        vm.prank(newcomer);
        link.transferAndCall(node, 1 ether, STAKE);
        uint256 gas = _txGas(callData);
        assertEq(pool.stakeOf(node, newcomer), 1 ether, "staked");
        _assertBound(gas, 250_000);
        emit log_named_uint(string.concat("staking.gas_stake_", _suffix()), gas);
    }

    function test_gas_withdraw() public {
        bytes memory callData = abi.encodeCall(Node.withdraw, (node, 0.5 ether));
        vm.prank(firstStaker);
        nodeLogic.withdraw(node, 0.5 ether);
        uint256 gas = _txGas(callData);
        assertEq(link.balanceOf(firstStaker), 0.5 ether, "withdrawn");
        _assertBound(gas, 200_000);
        emit log_named_uint(string.concat("staking.gas_withdraw_", _suffix()), gas);
    }

    function test_gas_distribute() public {
        bytes memory callData = abi.encodeCall(Node.distribute, (node));
        uint256 profit = nodeLogic.distribute(node);
        uint256 gas = _txGas(callData);
        assertEq(profit, 10 ether, "distributed");
        _assertBound(gas, 120_000);
        emit log_named_uint(string.concat("staking.gas_distribute_", _suffix()), gas);
    }
}

contract StakingGas1Test is StakingGasBase {
    function _stakers() internal pure override returns (uint256) {
        return 1;
    }

    function _suffix() internal pure override returns (string memory) {
        return "1";
    }
}

contract StakingGas100Test is StakingGasBase {
    function _stakers() internal pure override returns (uint256) {
        return 100;
    }

    function _suffix() internal pure override returns (string memory) {
        return "100";
    }
}

contract StakingGas10000Test is StakingGasBase {
    function _stakers() internal pure override returns (uint256) {
        return 10_000;
    }

    function _suffix() internal pure override returns (string memory) {
        return "10000";
    }
}
