// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/// @title Cheatcodes the staking tests and scripts use beyond `test/utils/Vm.sol`.
/// @dev Declarations only, at forge's cheatcode address (see `StakingVmAddress`).
interface StakingVm {
    function setEnv(string calldata name, string calldata value) external;
    function envAddress(string calldata name) external view returns (address);
    function toString(address value) external pure returns (string memory);
    function startBroadcast() external;
    function startBroadcast(address signer) external;
    function stopBroadcast() external;
    function pauseGasMetering() external;
    function resumeGasMetering() external;
}

/// @dev forge's cheatcode address.
address constant STAKING_VM_ADDRESS = 0x7109709ECfa91a80626fF3989D68f67F5b1DD12D;
