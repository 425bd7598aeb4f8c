// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {Test} from "./Test.sol";
import {Vm} from "./Vm.sol";
import {LinkToken} from "../../src/token/LinkToken.sol";
import {Oracle} from "../../src/oracle/Oracle.sol";
import {IOracle} from "../../src/oracle/IOracle.sol";
import {PriceConsumer} from "../../src/examples/PriceConsumer.sol";

/// @dev Deploys the stack the way the Rust deploy helper does: LINK (supply to this test),
///      Oracle owned by `owner` with `node` authorized, and a PriceConsumer funded with 1,000 LINK.
abstract contract OracleFixture is Test {
    bytes32 internal constant SPEC_ID = keccak256("orakel/spec/eth-usd");
    uint256 internal constant PAYMENT = 0.1 ether;
    uint256 internal constant CONSUMER_FUNDING = 1000 ether;
    bytes4 internal constant FULFILL_SELECTOR = PriceConsumer.fulfill.selector;

    address internal owner;
    address internal node;
    LinkToken internal link;
    Oracle internal oracle;
    PriceConsumer internal consumer;

    /// @dev The fields of an `OracleRequest` event.
    struct RequestEvent {
        bytes32 specId;
        address requester;
        bytes32 requestId;
        uint256 payment;
        address callbackAddr;
        bytes4 callbackFunctionId;
        uint256 cancelExpiration;
        uint256 dataVersion;
        bytes data;
    }

    function setUp() public virtual {
        owner = makeAddr("owner");
        node = makeAddr("node");
        link = new LinkToken(address(this));
        oracle = new Oracle(address(link), owner);
        address[] memory senders = new address[](1);
        senders[0] = node;
        vm.prank(owner);
        oracle.setAuthorizedSenders(senders);
        consumer = new PriceConsumer(address(link), address(oracle));
        link.transfer(address(consumer), CONSUMER_FUNDING);
        vm.label(address(link), "LinkToken");
        vm.label(address(oracle), "Oracle");
        vm.label(address(consumer), "PriceConsumer");
    }

    /// @dev Runs `consumer.requestPrice` and returns the decoded `OracleRequest` event.
    function _requestPrice(uint256 payment) internal returns (RequestEvent memory ev) {
        vm.recordLogs();
        consumer.requestPrice(SPEC_ID, "ETH/USD", 100, payment);
        ev = _lastOracleRequest();
    }

    /// @dev Runs `consumer.requestPriceOperator` and returns the decoded `OracleRequest` event.
    function _requestPriceOperator(uint256 payment) internal returns (RequestEvent memory ev) {
        vm.recordLogs();
        consumer.requestPriceOperator(SPEC_ID, "ETH/USD", 100, payment);
        ev = _lastOracleRequest();
    }

    /// @dev Decodes the last `OracleRequest` log recorded since `vm.recordLogs()`.
    function _lastOracleRequest() internal returns (RequestEvent memory ev) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bool found;
        for (uint256 i = logs.length; i > 0; --i) {
            Vm.Log memory log = logs[i - 1];
            if (log.emitter == address(oracle) && log.topics[0] == IOracle.OracleRequest.selector) {
                ev.specId = log.topics[1];
                bytes memory data = log.data;
                ev.requester = address(uint160(_word(data, 0)));
                ev.requestId = bytes32(_word(data, 1));
                ev.payment = _word(data, 2);
                ev.callbackAddr = address(uint160(_word(data, 3)));
                ev.callbackFunctionId = bytes4(bytes32(_word(data, 4)));
                ev.cancelExpiration = _word(data, 5);
                ev.dataVersion = _word(data, 6);
                ev.data = abi.decode(_slice(data, _word(data, 7)), (bytes));
                found = true;
                break;
            }
        }
        assertTrue(found, "no OracleRequest log");
    }

    /// @dev The `i`-th 32-byte word of ABI data.
    function _word(bytes memory data, uint256 i) internal pure returns (uint256 value) {
        assembly ("memory-safe") {
            value := mload(add(add(data, 32), mul(i, 32)))
        }
    }

    /// @dev `data[from - 32:]` prefixed with the offset word 0x20, so that a dynamic value whose
    ///      tail starts at `from` can be decoded with `abi.decode(…, (bytes))`.
    function _slice(bytes memory data, uint256 from) internal pure returns (bytes memory out) {
        out = new bytes(data.length - from + 32);
        out[31] = 0x20;
        for (uint256 i = from; i < data.length; ++i) {
            out[i - from + 32] = data[i];
        }
    }

    /// @dev Fulfils `ev` as the node with the single-word function.
    function _fulfil(RequestEvent memory ev, uint256 value) internal returns (bool) {
        vm.prank(node);
        return oracle.fulfillOracleRequest(
            ev.requestId, ev.payment, ev.callbackAddr, ev.callbackFunctionId, ev.cancelExpiration, bytes32(value)
        );
    }

    /// @dev Fulfils `ev` as the node with the multi-word function and data abi.encode(requestId, value).
    function _fulfil2(RequestEvent memory ev, uint256 value) internal returns (bool) {
        vm.prank(node);
        return oracle.fulfillOracleRequest2(
            ev.requestId,
            ev.payment,
            ev.callbackAddr,
            ev.callbackFunctionId,
            ev.cancelExpiration,
            abi.encode(ev.requestId, value)
        );
    }

    /// @dev The commitment hash the oracle stores for these parameters.
    function _paramsHash(uint256 payment, address callbackAddr, bytes4 callbackFunctionId, uint256 expiration)
        internal
        pure
        returns (bytes31)
    {
        return bytes31(keccak256(abi.encodePacked(payment, callbackAddr, callbackFunctionId, expiration)));
    }

    /// @dev The request data that `PriceConsumer.requestPrice(…, "ETH/USD", 100, …)` sends, by hand
    ///      from RFC 8949: text(4) "pair", text(7) "ETH/USD", text(5) "times", uint(100).
    function _ethUsdTimes100Cbor() internal pure returns (bytes memory) {
        return bytes.concat(
            hex"64",
            "pair",
            hex"67",
            "ETH/USD",
            hex"65",
            "times",
            hex"1864" // 0x18 = uint8 follows, 0x64 = 100
        );
    }
}
