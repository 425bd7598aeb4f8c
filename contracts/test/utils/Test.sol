// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {Vm} from "./Vm.sol";

/// @title Base contract of orakel's forge tests: cheatcodes, assertions, fuzz helpers and
///        invariant targets (the functions forge queries on an invariant test contract).
abstract contract Test {
    /// @dev forge's cheatcode address: address(uint160(uint256(keccak256("hevm cheat code")))).
    Vm internal constant vm = Vm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D);

    /// @dev Decoded by forge into the test's logs (shown with -vv and in --json output).
    event log_named_uint(string key, uint256 val);

    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    address[] private s_targetContracts;
    address[] private s_targetSenders;
    FuzzSelector[] private s_targetSelectors;

    // --------------------------------------------------------------------------------------
    // Assertions
    // --------------------------------------------------------------------------------------

    function assertTrue(bool condition, string memory message) internal pure {
        vm.assertTrue(condition, message);
    }

    function assertFalse(bool condition, string memory message) internal pure {
        vm.assertFalse(condition, message);
    }

    function assertEq(bool left, bool right, string memory message) internal pure {
        vm.assertEq(left, right, message);
    }

    function assertEq(uint256 left, uint256 right, string memory message) internal pure {
        vm.assertEq(left, right, message);
    }

    function assertEq(int256 left, int256 right, string memory message) internal pure {
        vm.assertEq(left, right, message);
    }

    function assertEq(address left, address right, string memory message) internal pure {
        vm.assertEq(left, right, message);
    }

    function assertEq(bytes32 left, bytes32 right, string memory message) internal pure {
        vm.assertEq(left, right, message);
    }

    function assertEq(string memory left, string memory right, string memory message) internal pure {
        vm.assertEq(left, right, message);
    }

    function assertEq(bytes memory left, bytes memory right, string memory message) internal pure {
        vm.assertEq(left, right, message);
    }

    function assertGe(uint256 left, uint256 right, string memory message) internal pure {
        vm.assertGe(left, right, message);
    }

    function assertLe(uint256 left, uint256 right, string memory message) internal pure {
        vm.assertLe(left, right, message);
    }

    function assertGt(uint256 left, uint256 right, string memory message) internal pure {
        vm.assertGt(left, right, message);
    }

    function assertLt(uint256 left, uint256 right, string memory message) internal pure {
        vm.assertLt(left, right, message);
    }

    // --------------------------------------------------------------------------------------
    // Fuzz helpers
    // --------------------------------------------------------------------------------------

    /// @dev Maps any `x` into [min, max] (inclusive).
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        require(min <= max, "bound: min > max");
        uint256 span = max - min;
        if (span == type(uint256).max) return x;
        return min + (x % (span + 1));
    }

    /// @dev A deterministic, labelled address for `name`.
    function makeAddr(string memory name) internal returns (address account) {
        account = address(uint160(uint256(keccak256(bytes(name)))));
        vm.label(account, name);
    }

    // --------------------------------------------------------------------------------------
    // Invariant targets (forge calls these getters when running invariant_* functions)
    // --------------------------------------------------------------------------------------

    function targetContract(address target) internal {
        s_targetContracts.push(target);
    }

    function targetSender(address sender) internal {
        s_targetSenders.push(sender);
    }

    function targetSelector(FuzzSelector memory selector) internal {
        s_targetSelectors.push(selector);
    }

    function targetContracts() public view returns (address[] memory) {
        return s_targetContracts;
    }

    function targetSenders() public view returns (address[] memory) {
        return s_targetSenders;
    }

    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return s_targetSelectors;
    }
}
