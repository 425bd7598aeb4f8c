// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {Test} from "../utils/Test.sol";
import {Vm} from "../utils/Vm.sol";
import {LinkToken} from "../../src/token/LinkToken.sol";
import {ISlaMarket} from "../../src/market/ISlaMarket.sol";
import {ISlaConsumer} from "../../src/market/ISlaConsumer.sol";
import {SlaMarket} from "../../src/market/SlaMarket.sol";
import {MockAggregator, MockReputation, MockConsumer} from "./mocks/MarketMocks.sol";

/// @dev Cheatcodes the market tests need beyond `test/utils/Vm.sol`.
interface VmMarket {
    function roll(uint256 newHeight) external;
    function cool(address target) external;
    function toString(uint256 value) external pure returns (string memory);
}

/// @dev Deploys LINK, the market and mock aggregator / reputation / consumer, and offers helpers to
///      propose, bid, finalize, commit and reveal.
abstract contract SlaFixture is Test {
    VmMarket internal constant vmm = VmMarket(address(uint160(uint256(keccak256("hevm cheat code")))));

    bytes32 internal constant SPEC_ID = keccak256("orakel/spec/eth-usd");
    bytes32 internal constant JOB_TYPE = keccak256("price:ETH/USD");
    uint96 internal constant DEPOSIT = 5 ether;
    uint96 internal constant PAY = 0.5 ether;
    uint32 internal constant COMMIT_WINDOW = 60;
    uint32 internal constant REVEAL_WINDOW = 60;
    uint64 internal constant BIDDING = 100;

    LinkToken internal link;
    SlaMarket internal market;
    MockAggregator internal aggregator;
    MockReputation internal reputation;
    MockConsumer internal consumer;
    address internal purchaser;
    address[] internal nodes;
    /// @dev Selected oracles per SLA, cached at finalization so that round helpers make exactly
    ///      one external call (the action itself) and `vm.expectEmit` can precede them.
    mapping(uint256 slaId => address[]) internal s_selected;

    function setUp() public virtual {
        link = new LinkToken(address(this));
        market = new SlaMarket(address(link));
        aggregator = new MockAggregator();
        reputation = new MockReputation();
        consumer = new MockConsumer();
        purchaser = makeAddr("purchaser");
        link.transfer(purchaser, 1_000_000 ether);
        for (uint256 i = 0; i < 140; ++i) {
            address node = makeAddr(string.concat("node", vmm.toString(i)));
            nodes.push(node);
            link.transfer(node, 1000 ether);
        }
        vm.warp(1_000_000);
        vmm.roll(100);
    }

    // --------------------------------------------------------------------------------------
    // Terms and order matching
    // --------------------------------------------------------------------------------------

    function _terms(uint8 n) internal view returns (ISlaMarket.SlaTerms memory t) {
        t.specId = SPEC_ID;
        t.jobType = JOB_TYPE;
        t.params = hex"6470616972674554482f555344";
        t.oracles = n;
        t.minResponses = n / 2 + 1;
        t.minReputation = 1000;
        t.penaltyDeposit = DEPOSIT;
        t.paymentPerOracle = PAY;
        t.rounds = 1;
        t.biddingEnds = uint64(block.timestamp + BIDDING);
        t.commitWindow = COMMIT_WINDOW;
        t.revealWindow = REVEAL_WINDOW;
        t.aggregator = address(aggregator);
        t.reputation = address(reputation);
        t.callback = address(consumer);
        t.callbackSelector = ISlaConsumer.onRoundAnswer.selector;
    }

    function _price(ISlaMarket.SlaTerms memory t) internal pure returns (uint256) {
        return uint256(t.oracles) * t.paymentPerOracle * t.rounds;
    }

    function _propose(ISlaMarket.SlaTerms memory t) internal returns (uint256 slaId) {
        vm.prank(purchaser);
        link.transferAndCall(address(market), _price(t), abi.encodeCall(ISlaMarket.propose, (t)));
        slaId = market.slaCount();
    }

    function _bid(uint256 slaId, address node) internal {
        (ISlaMarket.SlaTerms memory t,,) = market.slaOf(slaId);
        vm.prank(node);
        link.transferAndCall(address(market), t.penaltyDeposit, abi.encodeCall(ISlaMarket.bid, (slaId)));
    }

    /// @dev Proposes `t`, lets nodes[0..bidders) bid, finalizes; returns the SLA and its first round.
    function _activeSla(ISlaMarket.SlaTerms memory t, uint256 bidders)
        internal
        returns (uint256 slaId, uint256 roundId)
    {
        slaId = _propose(t);
        for (uint256 i = 0; i < bidders; ++i) {
            _bid(slaId, nodes[i]);
        }
        vm.warp(t.biddingEnds);
        market.finalize(slaId);
        s_selected[slaId] = market.oraclesOf(slaId);
        roundId = market.latestRoundOf(slaId);
    }

    function _activeSla(uint8 n) internal returns (uint256 slaId, uint256 roundId) {
        return _activeSla(_terms(n), n);
    }

    // --------------------------------------------------------------------------------------
    // Rounds
    // --------------------------------------------------------------------------------------

    function _salt(uint256 roundId, uint256 index) internal pure returns (bytes32) {
        return keccak256(abi.encode("salt", roundId, index));
    }

    /// @dev The commitment, computed here (the market's `commitmentOf` is tested on its own).
    function _commitmentOf(uint256 roundId, address oracle, int256 answer, bytes32 salt)
        internal
        view
        returns (bytes32)
    {
        return keccak256(abi.encode(address(market), roundId, oracle, answer, salt));
    }

    function _commit(uint256 slaId, uint256 roundId, uint256 index, int256 answer) internal {
        address oracle = s_selected[slaId][index];
        bytes32 c = _commitmentOf(roundId, oracle, answer, _salt(roundId, index));
        vm.prank(oracle);
        market.commit(roundId, index, c);
    }

    function _reveal(uint256 slaId, uint256 roundId, uint256 index, int256 answer) internal {
        address oracle = s_selected[slaId][index];
        vm.prank(oracle);
        market.reveal(roundId, index, answer, _salt(roundId, index));
    }

    /// @dev Every selected oracle i commits and reveals answers[i].
    function _answerRound(uint256 slaId, uint256 roundId, int256[] memory answers) internal {
        for (uint256 i = 0; i < answers.length; ++i) {
            _commit(slaId, roundId, i, answers[i]);
        }
        for (uint256 i = 0; i < answers.length; ++i) {
            _reveal(slaId, roundId, i, answers[i]);
        }
    }

    function _answers(uint256 n, int256 base) internal pure returns (int256[] memory a) {
        a = new int256[](n);
        for (uint256 i = 0; i < n; ++i) {
            a[i] = base + int256(i);
        }
    }

    function _status(uint256 slaId) internal view returns (ISlaMarket.SlaStatus status) {
        (, status,) = market.slaOf(slaId);
    }

    function _round(uint256 roundId) internal view returns (ISlaMarket.RoundView memory) {
        return market.roundOf(roundId);
    }

    function _activeMask(uint256 slaId) internal view returns (uint256 mask) {
        (,, mask,,) = market.escrowOf(slaId);
    }

    /// @dev Number of logs with topic0 `sig` emitted by the market since `vm.recordLogs()`.
    function _countLogs(Vm.Log[] memory logs, bytes32 sig) internal view returns (uint256 count) {
        for (uint256 i = 0; i < logs.length; ++i) {
            if (logs[i].emitter == address(market) && logs[i].topics[0] == sig) ++count;
        }
    }
}
