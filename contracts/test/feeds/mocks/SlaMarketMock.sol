// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IERC677} from "../../../src/token/IERC677.sol";
import {IERC677Receiver} from "../../../src/token/IERC677Receiver.sol";
import {ISlaMarket} from "../../../src/market/ISlaMarket.sol";

/// @dev The part of the SLA market an SlaFeed talks to: `propose` via LINK `transferAndCall`,
///      `slaOf`, `roundOf`, `endSla`, `withdraw`, `withdrawable`; the test drives answers with
///      `answer` (which calls the SLA's callback like the market does, reverts propagate).
contract SlaMarketMock is IERC677Receiver {
    IERC677 public immutable link;
    uint256 public nextSlaId;
    uint256 public nextRoundId = 100;

    struct Sla {
        ISlaMarket.SlaTerms terms;
        ISlaMarket.SlaStatus status;
        address purchaser;
        uint256 escrow;
    }

    mapping(uint256 => Sla) internal s_slas;
    mapping(uint256 => ISlaMarket.RoundView) internal s_rounds;
    mapping(address => uint256) public withdrawable;
    bool public roundOfReverts;

    error Unsupported();
    error NotPurchaser();

    constructor(IERC677 link_, uint256 firstSlaId) {
        link = link_;
        nextSlaId = firstSlaId;
    }

    function onTokenTransfer(address sender, uint256 value, bytes calldata data) external {
        require(msg.sender == address(link), "only LINK");
        if (bytes4(data[:4]) != ISlaMarket.propose.selector) revert Unsupported();
        ISlaMarket.SlaTerms memory terms = abi.decode(data[4:], (ISlaMarket.SlaTerms));
        require(value == uint256(terms.oracles) * terms.paymentPerOracle * terms.rounds, "payment");
        uint256 id = nextSlaId++;
        Sla storage s = s_slas[id];
        s.terms = terms;
        s.status = ISlaMarket.SlaStatus.Bidding;
        s.purchaser = sender;
        s.escrow = value;
    }

    function slaOf(uint256 slaId)
        external
        view
        returns (ISlaMarket.SlaTerms memory terms, ISlaMarket.SlaStatus status, address purchaser)
    {
        Sla storage s = s_slas[slaId];
        return (s.terms, s.status, s.purchaser);
    }

    function roundOf(uint256 roundId) external view returns (ISlaMarket.RoundView memory) {
        require(!roundOfReverts, "roundOf off");
        return s_rounds[roundId];
    }

    function setRoundOfReverts(bool on) external {
        roundOfReverts = on;
    }

    /// @dev Test hook: an SLA whose purchaser is `purchaser` and callback `callback`, without payment.
    function fakeSla(address purchaser, address callback) external returns (uint256 id) {
        id = nextSlaId++;
        Sla storage s = s_slas[id];
        s.purchaser = purchaser;
        s.status = ISlaMarket.SlaStatus.Active;
        s.terms.callback = callback;
        s.terms.callbackSelector = bytes4(keccak256("onRoundAnswer(uint256,uint256,int256)"));
    }

    /// @dev Test hook: a round of `slaId` started at `startedAt` answers `value` into the callback.
    function answer(uint256 slaId, uint64 startedAt, int256 value) external returns (uint256 roundId) {
        Sla storage s = s_slas[slaId];
        s.status = ISlaMarket.SlaStatus.Active;
        roundId = nextRoundId++;
        s_rounds[roundId] = ISlaMarket.RoundView({
            slaId: slaId,
            status: ISlaMarket.RoundStatus.Answered,
            startBlock: uint64(block.number),
            commitDeadline: startedAt + s.terms.commitWindow,
            revealDeadline: startedAt + s.terms.commitWindow + s.terms.revealWindow,
            commits: 0,
            reveals: 0,
            revealOpen: false,
            answer: value
        });
        (bool ok, bytes memory ret) =
            s.terms.callback.call(abi.encodeWithSelector(s.terms.callbackSelector, slaId, roundId, value));
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 32), mload(ret))
            }
        }
    }

    function endSla(uint256 slaId) external {
        Sla storage s = s_slas[slaId];
        if (msg.sender != s.purchaser) revert NotPurchaser();
        s.status = ISlaMarket.SlaStatus.Ended;
        withdrawable[s.purchaser] += s.escrow;
        s.escrow = 0;
    }

    function withdraw() external {
        uint256 amount = withdrawable[msg.sender];
        withdrawable[msg.sender] = 0;
        require(link.transfer(msg.sender, amount), "transfer");
    }
}
