// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {OracleFixture} from "../utils/OracleFixture.sol";
import {Oracle} from "../../src/oracle/Oracle.sol";
import {OracleClient} from "../../src/oracle/OracleClient.sol";
import {ClientHarness} from "../mocks/ClientHarness.sol";

contract OracleClientTest is OracleFixture {
    ClientHarness internal client;

    event ChainlinkRequested(bytes32 indexed id);
    event ChainlinkFulfilled(bytes32 indexed id);
    event ChainlinkCancelled(bytes32 indexed id);

    function setUp() public override {
        super.setUp();
        client = new ClientHarness(address(link), address(oracle));
        link.transfer(address(client), CONSUMER_FUNDING);
    }

    function test_constructorEmitsWiring() public {
        vm.expectEmit(true, false, false, true);
        emit OracleClient.LinkTokenSet(address(link));
        vm.expectEmit(true, false, false, true);
        emit OracleClient.OracleSet(address(oracle));
        new ClientHarness(address(link), address(oracle));
    }

    function test_setOracle() public {
        vm.expectEmit(true, false, false, true, address(client));
        emit OracleClient.OracleSet(address(0xCAFE));
        client.setOracle(address(0xCAFE));
        assertEq(client.oracleAddress(), address(0xCAFE), "oracle");
    }

    function test_getters() public view {
        assertEq(client.oracleAddress(), address(oracle), "oracle");
        assertEq(client.linkAddress(), address(link), "link");
        assertEq(client.nextNonce(), 1, "nonces start at 1");
    }

    function test_requestIdsFollowNonces() public {
        for (uint256 nonce = 1; nonce <= 3; ++nonce) {
            bytes32 expected = keccak256(abi.encodePacked(address(client), nonce));
            vm.expectEmit(true, false, false, true, address(client));
            emit ChainlinkRequested(expected);
            bytes32 id = client.sendWithUint(SPEC_ID, nonce, PAYMENT);
            assertEq(id, expected, "id = keccak(client, nonce)");
            assertEq(client.pendingOracle(id), address(oracle), "pending at oracle");
        }
        assertEq(client.nextNonce(), 4, "next nonce");
        assertEq(link.balanceOf(address(oracle)), 3 * PAYMENT, "paid");
    }

    function test_requestCarriesCborParams() public {
        vm.recordLogs();
        client.sendWithUint(SPEC_ID, 500, PAYMENT);
        RequestEvent memory ev = _lastOracleRequest();
        assertEq(ev.data, bytes.concat(hex"65", "value", hex"1901f4"), "value: 500");
        assertEq(ev.dataVersion, 1, "v1");
        assertEq(ev.callbackFunctionId, ClientHarness.receiveAnswer.selector, "selector");
    }

    function test_operatorRequestToOtherOracle() public {
        Oracle other = new Oracle(address(link), owner);
        address[] memory senders = new address[](1);
        senders[0] = node;
        vm.prank(owner);
        other.setAuthorizedSenders(senders);

        vm.recordLogs();
        bytes32 id = client.sendOperatorTo(address(other), SPEC_ID, PAYMENT);
        assertEq(client.pendingOracle(id), address(other), "pending at the other oracle");
        assertEq(link.balanceOf(address(other)), PAYMENT, "other oracle paid");

        // Only the other oracle can deliver it.
        vm.expectRevert(abi.encodeWithSelector(OracleClient.SourceMustBeOracle.selector, id, address(oracle)));
        vm.prank(address(oracle));
        client.receiveAnswer(id, bytes32(0));

        vm.expectEmit(true, false, false, true, address(client));
        emit ChainlinkFulfilled(id);
        vm.prank(address(other));
        client.receiveAnswer(id, bytes32(uint256(9)));
        assertEq(client.pendingOracle(id), address(0), "closed");
    }

    function testFuzz_recordFulfillment_rejectsStrangers(address caller) public {
        vm.assume(caller != address(oracle));
        bytes32 id = client.sendWithUint(SPEC_ID, 1, PAYMENT);
        vm.expectRevert(abi.encodeWithSelector(OracleClient.SourceMustBeOracle.selector, id, caller));
        vm.prank(caller);
        client.receiveAnswer(id, bytes32(0));
    }

    function test_recordFulfillment_onlyOnce() public {
        bytes32 id = client.sendWithUint(SPEC_ID, 1, PAYMENT);
        vm.prank(address(oracle));
        client.receiveAnswer(id, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(OracleClient.SourceMustBeOracle.selector, id, address(oracle)));
        vm.prank(address(oracle));
        client.receiveAnswer(id, bytes32(0));
    }

    function test_cancel_refundsAndForgets() public {
        vm.recordLogs();
        bytes32 id = client.sendWithUint(SPEC_ID, 1, PAYMENT);
        RequestEvent memory ev = _lastOracleRequest();
        vm.warp(ev.cancelExpiration);
        uint256 before = link.balanceOf(address(client));
        vm.expectEmit(true, false, false, true, address(client));
        emit ChainlinkCancelled(id);
        client.cancel(id, PAYMENT, ev.callbackFunctionId, ev.cancelExpiration);
        assertEq(link.balanceOf(address(client)), before + PAYMENT, "refund");
        assertEq(client.pendingOracle(id), address(0), "forgotten");
        vm.expectRevert(abi.encodeWithSelector(OracleClient.RequestNotPending.selector, id));
        client.cancel(id, PAYMENT, ev.callbackFunctionId, ev.cancelExpiration);
    }

    function test_cancel_unknownRequestReverts() public {
        vm.expectRevert(abi.encodeWithSelector(OracleClient.RequestNotPending.selector, bytes32(uint256(1))));
        client.cancel(bytes32(uint256(1)), PAYMENT, bytes4(0), 0);
    }

    function test_addExternalRequest() public {
        bytes32 id = keccak256("external");
        vm.expectEmit(true, true, false, true, address(client));
        emit OracleClient.ExternalRequestAdded(id, address(0xA11CE));
        client.addExternalRequest(address(0xA11CE), id);
        assertEq(client.pendingOracle(id), address(0xA11CE), "tracked");
        vm.expectRevert(abi.encodeWithSelector(OracleClient.RequestAlreadyPending.selector, id));
        client.addExternalRequest(address(0xB0B), id);
        vm.prank(address(0xA11CE));
        client.receiveAnswer(id, bytes32(0));
    }

    function test_requestWithoutFundsReverts() public {
        ClientHarness poor = new ClientHarness(address(link), address(oracle));
        vm.expectRevert();
        poor.sendWithUint(SPEC_ID, 1, PAYMENT);
        assertEq(poor.nextNonce(), 1, "nonce not consumed");
    }

    function test_callbackToLinkIsRefusedByOracle() public {
        vm.expectRevert(Oracle.CannotCallbackToLinkToken.selector);
        client.sendWithCallback(SPEC_ID, address(link), link.transfer.selector, PAYMENT);
    }
}
