// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IAggregator} from "../../../src/aggregation/IAggregator.sol";
import {IReputation} from "../../../src/reputation/IReputation.sol";

/// @dev Median of the answers (insertion sort of a copy, lower middle for even counts); accepts every
///      answer unless a fixed mask is set; can be told to revert or to burn all its gas.
contract MockAggregator is IAggregator {
    bool public shouldRevert;
    bool public burnGas;
    bool public useMask;
    uint256 public fixedMask;

    function setRevert(bool value) external {
        shouldRevert = value;
    }

    function setBurnGas(bool value) external {
        burnGas = value;
    }

    function setMask(uint256 mask) external {
        useMask = true;
        fixedMask = mask;
    }

    function aggregate(int256[] calldata answers) external view returns (int256 answer, uint256 acceptedMask) {
        if (shouldRevert) revert("no aggregate");
        if (burnGas) {
            uint256 i;
            while (gasleft() > 0) ++i;
        }
        uint256 n = answers.length;
        int256[] memory sorted = answers;
        for (uint256 i = 1; i < n; ++i) {
            int256 v = sorted[i];
            uint256 j = i;
            while (j > 0 && sorted[j - 1] > v) {
                sorted[j] = sorted[j - 1];
                --j;
            }
            sorted[j] = v;
        }
        answer = sorted[(n - 1) / 2];
        acceptedMask = useMask ? fixedMask : (n == 256 ? type(uint256).max : (uint256(1) << n) - 1);
    }

    function name() external pure returns (string memory) {
        return "mock-median";
    }
}

/// @dev Returns fewer than 64 bytes from `aggregate`.
contract ShortReturnAggregator {
    fallback() external {
        assembly {
            mstore(0, 1)
            return(0, 32)
        }
    }
}

/// @dev Scores set by the test (default `defaultScore`); records every `recordRound` call.
contract MockReputation is IReputation {
    struct Call {
        bytes32 jobType;
        uint256 roundId;
        address[] oracles;
        uint256 completedMask;
        uint256 acceptedMask;
        uint64[] responseBlocks;
        uint256 penalizedMask;
        uint96 penalty;
    }

    uint256 public defaultScore = 5000;
    mapping(address => uint256) internal s_scores;
    mapping(address => bool) internal s_hasScore;
    bool public shouldRevert;
    bool public burnGas;
    Call[] internal s_calls;

    function setScore(address oracle, uint256 value) external {
        s_scores[oracle] = value;
        s_hasScore[oracle] = true;
    }

    function setRevert(bool value) external {
        shouldRevert = value;
    }

    function setBurnGas(bool value) external {
        burnGas = value;
    }

    function recordRound(
        bytes32 jobType,
        uint256 roundId,
        address[] calldata oracles,
        uint256 completedMask,
        uint256 acceptedMask,
        uint64[] calldata responseBlocks,
        uint256 penalizedMask,
        uint96 penalty
    ) external {
        require(!shouldRevert, "reputation down");
        if (burnGas) {
            uint256 i;
            while (gasleft() > 0) ++i;
        }
        s_calls.push(
            Call(jobType, roundId, oracles, completedMask, acceptedMask, responseBlocks, penalizedMask, penalty)
        );
        emit RoundRecorded(msg.sender, jobType, roundId);
    }

    function score(address oracle, bytes32) external view returns (uint256) {
        return s_hasScore[oracle] ? s_scores[oracle] : defaultScore;
    }

    function recordOf(address, bytes32) external pure returns (Record memory r) {
        return r;
    }

    function callCount() external view returns (uint256) {
        return s_calls.length;
    }

    function callAt(uint256 i) external view returns (Call memory) {
        return s_calls[i];
    }
}

/// @dev Receives answers; can be told to revert or to burn all its gas.
contract MockConsumer {
    uint256 public calls;
    uint256 public lastSlaId;
    uint256 public lastRoundId;
    int256 public lastAnswer;
    bool public shouldRevert;
    bool public burnGas;

    function setRevert(bool value) external {
        shouldRevert = value;
    }

    function setBurnGas(bool value) external {
        burnGas = value;
    }

    function onRoundAnswer(uint256 slaId, uint256 roundId, int256 answer) external {
        require(!shouldRevert, "consumer down");
        if (burnGas) {
            uint256 i;
            while (gasleft() > 0) ++i;
        }
        calls += 1;
        lastSlaId = slaId;
        lastRoundId = roundId;
        lastAnswer = answer;
    }
}
