'use strict';
// Preload used before via-net/register: loads node's http/https/tls first, as an app or another
// preload might, so register has to re-parent their classes rather than rely on load order.
require('http');
require('https');
require('tls');
