'use strict';
// The utilities node:net exports must exist in the implementation and behave identically.
const { expect } = require('chai');

const IP_INPUTS = [
  ['127.0.0.1', 4], ['0.0.0.0', 4], ['255.255.255.255', 4], ['256.0.0.1', 0], ['1.2.3', 0],
  ['::1', 6], ['::', 6], ['fe80::1%eth0', 6], ['2001:db8::ff00:42:8329', 6], ['::ffff:127.0.0.1', 6],
  ['localhost', 0], ['', 0], ['1.2.3.4 ', 0], [' ::1', 0], [':::', 0],
];

module.exports = {
  area: 'utilities',
  clientServer: false,
  define({ impl, net }) {
    it('every function/class node:net exports is exported with the same type', () => {
      const publicNames = Object.keys(net).filter((k) => !k.startsWith('_'));
      const missing = publicNames.filter((k) => typeof impl[k] !== typeof net[k]);
      expect(missing).to.deep.equal([]);
    });

    it('isIP returns 4, 6 or 0 exactly as node does', () => {
      expect(IP_INPUTS.map(([ip]) => impl.isIP(ip))).to.deep.equal(IP_INPUTS.map(([, v]) => v));
    });

    it('isIPv4 and isIPv6 agree with isIP', () => {
      expect(IP_INPUTS.map(([ip]) => impl.isIPv4(ip))).to.deep.equal(IP_INPUTS.map(([, v]) => v === 4));
      expect(IP_INPUTS.map(([ip]) => impl.isIPv6(ip))).to.deep.equal(IP_INPUTS.map(([, v]) => v === 6));
    });

    it('isIP with non-string input returns 0', () => {
      expect([impl.isIP(127), impl.isIP(undefined), impl.isIP(null), impl.isIP({})]).to.deep.equal([0, 0, 0, 0]);
    });

    it('BlockList: addAddress / addRange / addSubnet / check / rules', () => {
      const bl = new impl.BlockList();
      bl.addAddress('10.0.0.1');
      bl.addRange('10.0.1.1', '10.0.1.10');
      bl.addSubnet('8592:757c:efae:4e45::', 64, 'ipv6');
      const checks = [
        bl.check('10.0.0.1'), bl.check('10.0.0.2'), bl.check('10.0.1.5'), bl.check('10.0.1.11'),
        bl.check('8592:757c:efae:4e45::f', 'ipv6'), bl.check('8592:757c:efae:4e46::f', 'ipv6'),
      ];
      expect(checks).to.deep.equal([true, false, true, false, true, false]);
      // The order of the list differs between Node lines (it is node's own BlockList either way).
      const rules = [
        'Subnet: IPv6 8592:757c:efae:4e45::/64',
        'Range: IPv4 10.0.1.1-10.0.1.10',
        'Address: IPv4 10.0.0.1',
      ];
      expect([...bl.rules].sort()).to.deep.equal(rules.sort());
    });

    it('BlockList: bad input throws ERR_INVALID_ARG_TYPE', () => {
      const bl = new impl.BlockList();
      let err;
      try { bl.addAddress(1); } catch (e) { err = e; }
      expect(err && err.code).to.equal('ERR_INVALID_ARG_TYPE');
    });

    it('SocketAddress: properties and defaults', () => {
      const a = new impl.SocketAddress({ address: '::1', family: 'ipv6', port: 8080, flowlabel: 7 });
      expect([a.address, a.family, a.port, a.flowlabel]).to.deep.equal(['::1', 'ipv6', 8080, 7]);
      const d = new impl.SocketAddress();
      expect([d.address, d.family, d.port, d.flowlabel]).to.deep.equal(['127.0.0.1', 'ipv4', 0, 0]);
    });

    it('SocketAddress: invalid family throws ERR_INVALID_ARG_VALUE', () => {
      let err;
      try { new impl.SocketAddress({ family: 'ipx' }); } catch (e) { err = e; } // eslint-disable-line no-new
      expect(err && err.code).to.equal('ERR_INVALID_ARG_VALUE');
    });

    it('getDefaultAutoSelectFamily matches node and setDefaultAutoSelectFamily round-trips', () => {
      const original = impl.getDefaultAutoSelectFamily();
      expect(original).to.equal(net.getDefaultAutoSelectFamily());
      try {
        impl.setDefaultAutoSelectFamily(!original);
        expect(impl.getDefaultAutoSelectFamily()).to.equal(!original);
      } finally {
        impl.setDefaultAutoSelectFamily(original);
      }
      expect(impl.getDefaultAutoSelectFamily()).to.equal(original);
    });

    it('get/setDefaultAutoSelectFamilyAttemptTimeout round-trip; below 10 becomes 10', () => {
      const original = impl.getDefaultAutoSelectFamilyAttemptTimeout();
      expect(original).to.equal(net.getDefaultAutoSelectFamilyAttemptTimeout());
      try {
        impl.setDefaultAutoSelectFamilyAttemptTimeout(123);
        expect(impl.getDefaultAutoSelectFamilyAttemptTimeout()).to.equal(123);
        impl.setDefaultAutoSelectFamilyAttemptTimeout(1);
        expect(impl.getDefaultAutoSelectFamilyAttemptTimeout()).to.equal(10);
      } finally {
        impl.setDefaultAutoSelectFamilyAttemptTimeout(original);
      }
    });

    it('setDefaultAutoSelectFamily with a non-boolean throws ERR_INVALID_ARG_TYPE', () => {
      let err;
      try { impl.setDefaultAutoSelectFamily('yes'); } catch (e) { err = e; }
      expect(err && err.code).to.equal('ERR_INVALID_ARG_TYPE');
    });
  },
};
