"""Streams (issue 14.4) on HeroDB and redis-server: XADD XLEN XRANGE XREVRANGE XREAD XDEL
XTRIM XSETID XGROUP XREADGROUP XACK XPENDING XCLAIM XAUTOCLAIM XINFO as Redis 7.0 answers them
(RESP2 and RESP3), approximate trimming on the same node boundaries, consumer-group counters
(entries-read, lag), COPY/MOVE/RENAME/DEL of streams; blocked XREAD/XREADGROUP woken by XADD,
by RENAME into place, by XGROUP DESTROY and DEL (compared live with redis-server), keyspace
events, and a stream with its groups surviving a restart and a log rewrite.

The tables' replies were taken from redis-server 7.0 and are checked on both servers."""
from __future__ import annotations

import shlex
import shutil
import time
from typing import Any

import pytest
from compat import ANY, E, P, U, Wire
from procs import start_herodb

XGROUP_NO_KEY = ('ERR The XGROUP subcommand requires the key to exist. Note that for CREATE '
                 'you may want to use the MKSTREAM option to create an empty stream '
                 'automatically.')

BASICS = [
    ('XADD s 1-1 a 1', b'1-1'),
    ('XADD s 1-1 a 1',
     E('ERR The ID specified in XADD is equal or smaller than the target stream top item')),
    ('XADD s 1-0 a 1',
     E('ERR The ID specified in XADD is equal or smaller than the target stream top item')),
    ('XADD s 0-0 a 1', E('ERR The ID specified in XADD must be greater than 0-0')),
    ('XADD s 1-* b 2', b'1-2'),
    ('XADD s 2-* c 3', b'2-0'),
    ('XADD s 2-5 c 3 d 4', b'2-5'),
    ('XADD s 2 c', E("ERR wrong number of arguments for 'xadd' command")),
    ('XADD s 2-x c 3', E('ERR Invalid stream ID specified as stream command argument')),
    ('XADD s NOMKSTREAM 3-1 e 5', b'3-1'),
    ('XADD nos NOMKSTREAM 3-1 e 5', None),
    ('EXISTS nos', 0),
    ('XLEN s', 5),
    ('XLEN nos', 0),
    ('TYPE s', 'stream'),
    ('OBJECT ENCODING s', b'stream'),
    ('XRANGE s - +', [[b'1-1', [b'a', b'1']], [b'1-2', [b'b', b'2']], [b'2-0', [b'c', b'3']],
                      [b'2-5', [b'c', b'3', b'd', b'4']], [b'3-1', [b'e', b'5']]]),
    ('XRANGE s - + COUNT 2', [[b'1-1', [b'a', b'1']], [b'1-2', [b'b', b'2']]]),
    ('XRANGE s - + COUNT 0', None),
    ('XRANGE s - + COUNT -1', None),
    ('XRANGE s (1-1 +', [[b'1-2', [b'b', b'2']], [b'2-0', [b'c', b'3']],
                         [b'2-5', [b'c', b'3', b'd', b'4']], [b'3-1', [b'e', b'5']]]),
    ('XRANGE s 1 1', [[b'1-1', [b'a', b'1']], [b'1-2', [b'b', b'2']]]),
    ('XRANGE s 2 +', [[b'2-0', [b'c', b'3']], [b'2-5', [b'c', b'3', b'd', b'4']], [b'3-1',
                                                                                   [b'e', b'5']]]),
    ('XRANGE s (2-5 +', [[b'3-1', [b'e', b'5']]]),
    ('XRANGE s - (2-0', [[b'1-1', [b'a', b'1']], [b'1-2', [b'b', b'2']]]),
    ('XRANGE s (18446744073709551615-18446744073709551615 +',
     E('ERR invalid start ID for the interval')),
    ('XRANGE s - (0-0', E('ERR invalid end ID for the interval')),
    ('XRANGE s - + BOGUS', E('ERR syntax error')),
    ('XRANGE s - + COUNT x', E('ERR value is not an integer or out of range')),
    ('XRANGE nos - +', []),
    ('XREVRANGE s + -', [[b'3-1', [b'e', b'5']], [b'2-5', [b'c', b'3', b'd', b'4']],
                         [b'2-0', [b'c', b'3']], [b'1-2', [b'b', b'2']], [b'1-1', [b'a', b'1']]]),
    ('XREVRANGE s + - COUNT 1', [[b'3-1', [b'e', b'5']]]),
    ('XREVRANGE s 2 1', [[b'2-5', [b'c', b'3', b'd', b'4']], [b'2-0', [b'c', b'3']],
                         [b'1-2', [b'b', b'2']], [b'1-1', [b'a', b'1']]]),
    ('XRANGE s x +', E('ERR Invalid stream ID specified as stream command argument')),
    ('XRANGE s 007 +', []),
    ('XRANGE s " 1" +', [[b'1-1', [b'a', b'1']], [b'1-2', [b'b', b'2']], [b'2-0', [b'c', b'3']],
                         [b'2-5', [b'c', b'3', b'd', b'4']], [b'3-1', [b'e', b'5']]]),
    ('XRANGE s +1 +', [[b'1-1', [b'a', b'1']], [b'1-2', [b'b', b'2']], [b'2-0', [b'c', b'3']],
                       [b'2-5', [b'c', b'3', b'd', b'4']], [b'3-1', [b'e', b'5']]]),
    ('XRANGE s -1 +', E('ERR Invalid stream ID specified as stream command argument')),
    ('XRANGE s 18446744073709551616 +',
     E('ERR Invalid stream ID specified as stream command argument')),
    ('XRANGE s 18446744073709551615 +', []),
    ('XDEL s 1-1 9-9', 1),
    ('XDEL s bad', E('ERR Invalid stream ID specified as stream command argument')),
    ('XDEL nos 1-1', 0),
    ('XLEN s', 4),
    ('XINFO STREAM s', P([b'length', 4, b'radix-tree-keys', 1, b'radix-tree-nodes', 2,
                          b'last-generated-id', b'3-1', b'max-deleted-entry-id', b'1-1',
                          b'entries-added', 5, b'recorded-first-entry-id', b'1-2', b'groups', 0,
                          b'first-entry', [b'1-2', [b'b', b'2']], b'last-entry',
                          [b'3-1', [b'e', b'5']]], {b'length': 4, b'radix-tree-keys': 1,
                                                    b'radix-tree-nodes': 2,
                                                    b'last-generated-id': b'3-1',
                                                    b'max-deleted-entry-id': b'1-1',
                                                    b'entries-added': 5,
                                                    b'recorded-first-entry-id': b'1-2',
                                                    b'groups': 0,
                                                    b'first-entry': [b'1-2',
                                                                     [b'b', b'2']],
                                                    b'last-entry': [b'3-1',
                                                                    [b'e', b'5']]})),
    ('SET str x', 'OK'),
    ('XADD str 1-1 a 1', E('WRONGTYPE Operation against a key holding the wrong kind of value')),
    ('XLEN str', E('WRONGTYPE Operation against a key holding the wrong kind of value')),
    ('XRANGE str - +', E('WRONGTYPE Operation against a key holding the wrong kind of value')),
    ('XADD s MAXLEN 2 50-1 f v', b'50-1'),
    ('XLEN s', 2),
    ('XADD s MAXLEN = 1 99-1 f v', b'99-1'),
    ('XRANGE s - +', [[b'99-1', [b'f', b'v']]]),
    ('XADD s MAXLEN ~ 1 LIMIT 5 99-2 f v', b'99-2'),
    ('XADD s MAXLEN 1 LIMIT 5 99-3 f v',
     E('ERR syntax error, LIMIT cannot be used without the special ~ option')),
    ('XADD s LIMIT 5 99-3 f v',
     E('ERR syntax error, LIMIT cannot be used without specifying a trimming strategy')),
    ('XADD s MAXLEN -1 99-3 f v', E('ERR The MAXLEN argument must be >= 0.')),
    ('XADD s MAXLEN 1 MINID 1 99-3 f v',
     E('ERR syntax error, MAXLEN and MINID options at the same time are not compatible')),
    ('XADD s MAXLEN', E("ERR wrong number of arguments for 'xadd' command")),
    ('XADD s MAXLEN 2', E("ERR wrong number of arguments for 'xadd' command")),
    ('XADD s MAXLEN ~ 99-4 f v', E('ERR value is not an integer or out of range')),
    ('XADD s MAXLEN 5 99-4 f', E("ERR wrong number of arguments for 'xadd' command")),
    ('XADD s 99-5 f v g', E("ERR wrong number of arguments for 'xadd' command")),
    ('XTRIM s MAXLEN 0', 2),
    ('XTRIM s MAXLEN = 0', 0),
    ('XTRIM s', E("ERR wrong number of arguments for 'xtrim' command")),
    ('XTRIM s BOGUS 1', E('ERR syntax error')),
    ('XTRIM s MINID 1 extra', E('ERR syntax error')),
    ('XTRIM nos MAXLEN 0', 0),
    ('XTRIM str MAXLEN 0', E('WRONGTYPE Operation against a key holding the wrong kind of value')),
    ('XLEN s', 0),
    ('XINFO STREAM s', P([b'length', 0, b'radix-tree-keys', 0, b'radix-tree-nodes', 1,
                          b'last-generated-id', b'99-2', b'max-deleted-entry-id', b'1-1',
                          b'entries-added', 8, b'recorded-first-entry-id', b'0-0', b'groups', 0,
                          b'first-entry', None, b'last-entry', None],
                         {b'length': 0, b'radix-tree-keys': 0, b'radix-tree-nodes': 1,
                          b'last-generated-id': b'99-2', b'max-deleted-entry-id': b'1-1',
                          b'entries-added': 8, b'recorded-first-entry-id': b'0-0', b'groups': 0,
                          b'first-entry': None, b'last-entry': None})),
    ('EXISTS s', 1),
    ('XADD s 18446744073709551615-18446744073709551615 a b',
     b'18446744073709551615-18446744073709551615'),
    ('XADD s * a b',
     E('ERR The stream has exhausted the last possible ID, unable to add more items')),
    ('XADD s 18446744073709551615-* a b',
     E('ERR The stream has exhausted the last possible ID, unable to add more items')),
    ('XSETID s 1-1',
     E('ERR The ID specified in XSETID is smaller than the target stream top item')),
    ('XSETID nos 1-1', E('ERR no such key')),
    ('XSETID s 18446744073709551615-18446744073709551615 ENTRIESADDED 1', 'OK'),
    ('XSETID s 18446744073709551615-18446744073709551615 ENTRIESADDED -1',
     E('ERR entries_added must be positive')),
    ('XSETID s 5-5 MAXDELETEDID 6-6',
     E('ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id')),
    ('XSETID s 5-5 BOGUS', E('ERR syntax error')),
    ('XSETID str 5-5', E('WRONGTYPE Operation against a key holding the wrong kind of value')),
]


GROUPS = [
    ('XGROUP CREATE s g 0', E(XGROUP_NO_KEY)),
    ('XGROUP CREATE s g 0 MKSTREAM', 'OK'),
    ('XGROUP CREATE s g 0 MKSTREAM', E('BUSYGROUP Consumer Group name already exists')),
    ('XGROUP CREATE s g2 $ ENTRIESREAD -2', E('ERR value for ENTRIESREAD must be positive or -1')),
    ('XGROUP CREATE s g2 $ ENTRIESREAD x', E('ERR value is not an integer or out of range')),
    ('XGROUP CREATE s g2 $ BOGUS',
     E("ERR unknown subcommand or wrong number of arguments for 'CREATE'. Try XGROUP HELP.")),
    ('XGROUP CREATE s g3 bad', E('ERR Invalid stream ID specified as stream command argument')),
    ('XGROUP', E("ERR wrong number of arguments for 'xgroup' command")),
    ('XGROUP FOO', E("ERR unknown subcommand 'FOO'. Try XGROUP HELP.")),
    ('XGROUP CREATE s', E("ERR wrong number of arguments for 'xgroup|create' command")),
    ('XGROUP DESTROY s', E("ERR wrong number of arguments for 'xgroup|destroy' command")),
    ('XGROUP HELP extra', E("ERR wrong number of arguments for 'xgroup|help' command")),
    ('XADD s 1-1 a 1', b'1-1'),
    ('XADD s 1-2 b 2', b'1-2'),
    ('XADD s 1-3 c 3', b'1-3'),
    ('XINFO GROUPS s', P([[b'name', b'g', b'consumers', 0, b'pending', 0, b'last-delivered-id',
                           b'0-0', b'entries-read', None, b'lag', 3]],
                         [{b'name': b'g', b'consumers': 0, b'pending': 0,
                           b'last-delivered-id': b'0-0', b'entries-read': None, b'lag': 3}])),
    ('XREADGROUP GROUP g alice STREAMS s >', P([[b's', [[b'1-1',
                                                         [b'a', b'1']],
                                                        [b'1-2',
                                                         [b'b', b'2']],
                                                        [b'1-3',
                                                         [b'c', b'3']]]]],
                                               {b's': [[b'1-1',
                                                        [b'a', b'1']],
                                                       [b'1-2',
                                                        [b'b', b'2']],
                                                       [b'1-3',
                                                        [b'c', b'3']]]})),
    ('XREADGROUP GROUP g alice STREAMS s 0', P([[b's', [[b'1-1',
                                                         [b'a', b'1']],
                                                        [b'1-2',
                                                         [b'b', b'2']],
                                                        [b'1-3',
                                                         [b'c', b'3']]]]],
                                               {b's': [[b'1-1',
                                                        [b'a', b'1']],
                                                       [b'1-2',
                                                        [b'b', b'2']],
                                                       [b'1-3',
                                                        [b'c', b'3']]]})),
    ('XREADGROUP GROUP g bob COUNT 1 STREAMS s >', None),
    ('XREADGROUP GROUP g bob STREAMS s >', None),
    ('XINFO GROUPS s', P([[b'name', b'g', b'consumers', 1, b'pending', 3, b'last-delivered-id',
                           b'1-3', b'entries-read', 3, b'lag', 0]], [{b'name': b'g',
                                                                      b'consumers': 1,
                                                                      b'pending': 3,
                                                                      b'last-delivered-id': b'1-3',
                                                                      b'entries-read': 3,
                                                                      b'lag': 0}])),
    ('XPENDING s g', [3, b'1-1', b'1-3', [[b'alice', b'3']]]),
    ('XPENDING s g - + 10', ANY),
    ('XPENDING s g - + 10 alice', ANY),
    ('XPENDING s g - + 10 nobody', []),
    ('XPENDING s g (1-1 + 10', ANY),
    ('XPENDING s g - + 0', []),
    ('XPENDING s g - + x', E('ERR value is not an integer or out of range')),
    ('XPENDING s g IDLE 100000 - + 10', []),
    ('XPENDING s g IDLE 0 - +', E('ERR syntax error')),
    ('XPENDING s g - +', E('ERR syntax error')),
    ('XPENDING s nog', E("NOGROUP No such key 's' or consumer group 'nog'")),
    ('XPENDING nos g', E("NOGROUP No such key 'nos' or consumer group 'g'")),
    ('XPENDING str g', E("NOGROUP No such key 'str' or consumer group 'g'")),
    ('XACK s g 1-1', 1),
    ('XACK s g 1-1', 0),
    ('XACK s g bad', E('ERR Invalid stream ID specified as stream command argument')),
    ('XACK s nog 1-2', 0),
    ('XACK nos g 1-2', 0),
    ('XPENDING s g', [2, b'1-2', b'1-3', [[b'alice', b'2']]]),
    ('XREADGROUP GROUP g alice STREAMS s 0', P([[b's', [[b'1-2', [b'b', b'2']], [b'1-3', [b'c',
                                                                                          b'3']]]]],
                                               {b's': [[b'1-2', [b'b', b'2']], [b'1-3', [b'c',
                                                                                         b'3']]]})),
    ('XDEL s 1-2', 1),
    ('XREADGROUP GROUP g alice STREAMS s 0', P([[b's', [[b'1-2', None], [b'1-3', [b'c', b'3']]]]],
                                               {b's': [[b'1-2', None], [b'1-3', [b'c', b'3']]]})),
    ('XINFO GROUPS s', P([[b'name', b'g', b'consumers', 1, b'pending', 2, b'last-delivered-id',
                           b'1-3', b'entries-read', 3, b'lag', 0]], [{b'name': b'g',
                                                                      b'consumers': 1,
                                                                      b'pending': 2,
                                                                      b'last-delivered-id': b'1-3',
                                                                      b'entries-read': 3,
                                                                      b'lag': 0}])),
    ('XCLAIM s g carol 0 1-2 JUSTID', []),
    ('XCLAIM s g carol 0 1-3 JUSTID', [b'1-3']),
    ('XCLAIM s g carol 0 1-3 RETRYCOUNT 7 JUSTID', [b'1-3']),
    ('XCLAIM s g carol x 1-3', E('ERR Invalid min-idle-time argument for XCLAIM')),
    ('XCLAIM s g carol 0 1-3 BOGUS', E("ERR Unrecognized XCLAIM option 'BOGUS'")),
    ('XCLAIM s g carol 0 1-3 IDLE x', E('ERR Invalid IDLE option argument for XCLAIM')),
    ('XCLAIM s nog carol 0 1-3', E("NOGROUP No such key 's' or consumer group 'nog'")),
    ('XCLAIM nos g carol 0 1-3', E("NOGROUP No such key 'nos' or consumer group 'g'")),
    ('XPENDING s g', [1, b'1-3', b'1-3', [[b'carol', b'1']]]),
    ('XCLAIM s g dave 0 1-1 FORCE JUSTID', [b'1-1']),
    ('XCLAIM s g dave 0 1-1 FORCE', [[b'1-1', [b'a', b'1']]]),
    ('XPENDING s g', [2, b'1-1', b'1-3', [[b'carol', b'1'], [b'dave', b'1']]]),
    ('XINFO CONSUMERS s nog', E("NOGROUP No such consumer group 'nog' for key name 's'")),
    ('XAUTOCLAIM s g erin 0 0', [b'0-0', [[b'1-1', [b'a', b'1']], [b'1-3', [b'c', b'3']]], []]),
    ('XAUTOCLAIM s g erin 0 0 COUNT 1', [b'1-3', [[b'1-1', [b'a', b'1']]], []]),
    ('XAUTOCLAIM s g erin 0 0 COUNT 0', E('ERR COUNT must be > 0')),
    ('XAUTOCLAIM s g erin 0 0 JUSTID', [b'0-0', [b'1-1', b'1-3'], []]),
    ('XAUTOCLAIM s g erin 0 0 BOGUS', E('ERR syntax error')),
    ('XAUTOCLAIM s nog erin 0 0', E("NOGROUP No such key 's' or consumer group 'nog'")),
    ('XAUTOCLAIM s g erin 0 (1-3', [b'0-0', [], []]),
    ('XPENDING s g', [2, b'1-1', b'1-3', [[b'erin', b'2']]]),
    ('XGROUP CREATECONSUMER s g frank', 1),
    ('XGROUP CREATECONSUMER s g frank', 0),
    ('XGROUP CREATECONSUMER s nog frank',
     E("NOGROUP No such consumer group 'nog' for key name 's'")),
    ('XGROUP DELCONSUMER s g erin', 2),
    ('XGROUP DELCONSUMER s g nobody', 0),
    ('XGROUP SETID s g 0', 'OK'),
    ('XGROUP SETID s g $ ENTRIESREAD 3', 'OK'),
    ('XGROUP SETID s g 0 MKSTREAM',
     E("ERR unknown subcommand or wrong number of arguments for 'SETID'. Try XGROUP HELP.")),
    ('XGROUP SETID s nog 0', E("NOGROUP No such consumer group 'nog' for key name 's'")),
    ('XINFO GROUPS s', P([[b'name', b'g', b'consumers', 4, b'pending', 0, b'last-delivered-id',
                           b'1-3', b'entries-read', 3, b'lag', 0]], [{b'name': b'g',
                                                                      b'consumers': 4,
                                                                      b'pending': 0,
                                                                      b'last-delivered-id': b'1-3',
                                                                      b'entries-read': 3,
                                                                      b'lag': 0}])),
    ('XGROUP DESTROY s g', 1),
    ('XGROUP DESTROY s g', 0),
    ('XGROUP DESTROY nos g', E(XGROUP_NO_KEY)),
    ('XINFO GROUPS s', []),
    ('XINFO STREAM nos', E('ERR no such key')),
    ('XINFO STREAM str', E('ERR no such key')),
    ('XINFO STREAM s FULL COUNT',
     E("ERR unknown subcommand or wrong number of arguments for 'STREAM'. Try XINFO HELP.")),
    ('XINFO STREAM s FULL BOGUS 1',
     E("ERR unknown subcommand or wrong number of arguments for 'STREAM'. Try XINFO HELP.")),
    ('XINFO STREAM s BOGUS',
     E("ERR unknown subcommand or wrong number of arguments for 'STREAM'. Try XINFO HELP.")),
    ('XINFO FOO s', E("ERR unknown subcommand 'FOO'. Try XINFO HELP.")),
    ('XINFO CONSUMERS s', E("ERR wrong number of arguments for 'xinfo|consumers' command")),
    ('XREADGROUP GROUP g alice STREAMS s >',
     E("NOGROUP No such key 's' or consumer group 'g' in XREADGROUP with GROUP option")),
    ('XREADGROUP GROUP g2 alice STREAMS s $',
     E("NOGROUP No such key 's' or consumer group 'g2' in XREADGROUP with GROUP option")),
    ('XREADGROUP GROUP g2 alice STREAMS s',
     E("ERR wrong number of arguments for 'xreadgroup' command")),
    ('XREADGROUP STREAMS s >', E("ERR wrong number of arguments for 'xreadgroup' command")),
    ('XREADGROUP GROUP g2 alice NOACK STREAMS s >',
     E("NOGROUP No such key 's' or consumer group 'g2' in XREADGROUP with GROUP option")),
    ('XREAD STREAMS s 0', P([[b's', [[b'1-1', [b'a', b'1']], [b'1-3', [b'c', b'3']]]]],
                            {b's': [[b'1-1', [b'a', b'1']], [b'1-3', [b'c', b'3']]]})),
    ('XREAD COUNT 1 STREAMS s 0', P([[b's', [[b'1-1', [b'a', b'1']]]]], {b's': [[b'1-1',
                                                                                 [b'a', b'1']]]})),
    ('XREAD STREAMS s $', None),
    ('XREAD STREAMS s >', E('ERR The > ID can be specified only when calling XREADGROUP using '
                            'the GROUP <group> <consumer> option.')),
    ('XREAD GROUP a b STREAMS s 0',
     E('ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.')),
    ('XREAD NOACK STREAMS s 0',
     E('ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.')),
    ('XREAD STREAMS s nos 0 0', P([[b's', [[b'1-1', [b'a', b'1']], [b'1-3', [b'c', b'3']]]]],
                                  {b's': [[b'1-1', [b'a', b'1']], [b'1-3', [b'c', b'3']]]})),
    ('XREAD STREAMS s str 0 0', P([[b's', [[b'1-1', [b'a', b'1']], [b'1-3', [b'c', b'3']]]]],
                                  {b's': [[b'1-1', [b'a', b'1']], [b'1-3', [b'c', b'3']]]})),
    ('XREAD STREAMS s', E("ERR wrong number of arguments for 'xread' command")),
    ('XREAD BOGUS STREAMS s 0', E('ERR syntax error')),
    ('XREAD BLOCK x STREAMS s 0', E('ERR timeout is not an integer or out of range')),
    ('XREAD BLOCK -1 STREAMS s 0', E('ERR timeout is negative')),
    ('XREAD BLOCK 10 STREAMS s 0', P([[b's', [[b'1-1', [b'a', b'1']], [b'1-3', [b'c', b'3']]]]],
                                     {b's': [[b'1-1', [b'a', b'1']], [b'1-3', [b'c', b'3']]]})),
    ('XREAD BLOCK 10 STREAMS s $', None),
    ('XGROUP CREATE s g5 0', 'OK'),
    ('XREADGROUP GROUP g5 c1 NOACK STREAMS s >', P([[b's', [[b'1-1',
                                                             [b'a', b'1']],
                                                            [b'1-3',
                                                             [b'c', b'3']]]]],
                                                   {b's': [[b'1-1',
                                                            [b'a', b'1']],
                                                           [b'1-3',
                                                            [b'c', b'3']]]})),
    ('XINFO GROUPS s', P([[b'name', b'g5', b'consumers', 1, b'pending', 0, b'last-delivered-id',
                           b'1-3', b'entries-read', 3, b'lag', 0]], [{b'name': b'g5',
                                                                      b'consumers': 1,
                                                                      b'pending': 0,
                                                                      b'last-delivered-id': b'1-3',
                                                                      b'entries-read': 3,
                                                                      b'lag': 0}])),
    ('XPENDING s g5', [0, None, None, None]),
    ('XADD s 2-1 x y', b'2-1'),
    ('XREADGROUP GROUP g5 c1 STREAMS s >', P([[b's', [[b'2-1', [b'x', b'y']]]]],
                                             {b's': [[b'2-1', [b'x', b'y']]]})),
    ('XREADGROUP GROUP g5 c1 STREAMS s 0', P([[b's', [[b'2-1', [b'x', b'y']]]]],
                                             {b's': [[b'2-1', [b'x', b'y']]]})),
    ('XREADGROUP GROUP g5 c1 STREAMS s 1-9', P([[b's', [[b'2-1', [b'x', b'y']]]]],
                                               {b's': [[b'2-1', [b'x', b'y']]]})),
]


TRIMMING = [
    ('CONFIG SET stream-node-max-entries 3', 'OK'),
    ('XADD t 1-1 a 1', b'1-1'),
    ('XADD t 1-2 a 2', b'1-2'),
    ('XADD t 1-3 a 3', b'1-3'),
    ('XADD t 1-4 a 4', b'1-4'),
    ('XADD t 1-5 b 5 c 6', b'1-5'),
    ('XADD t 1-6 a 6', b'1-6'),
    ('XADD t 1-7 a 7', b'1-7'),
    ('XTRIM t MAXLEN ~ 5', 0),
    ('XLEN t', 7),
    ('XRANGE t - +', [[b'1-1', [b'a', b'1']], [b'1-2', [b'a', b'2']], [b'1-3', [b'a', b'3']],
                      [b'1-4', [b'a', b'4']], [b'1-5', [b'b', b'5', b'c', b'6']], [b'1-6', [b'a',
                                                                                            b'6']],
                      [b'1-7', [b'a', b'7']]]),
    ('XTRIM t MAXLEN ~ 2', 3),
    ('XLEN t', 4),
    ('XTRIM t MINID ~ 1-7', 3),
    ('XLEN t', 1),
    ('XADD t 2-1 a 1', b'2-1'),
    ('XADD t 2-2 a 1', b'2-2'),
    ('XADD t 2-3 a 1', b'2-3'),
    ('XADD t 2-4 a 1', b'2-4'),
    ('XDEL t 2-1 2-2', 2),
    ('XINFO STREAM t', P([b'length', 3, b'radix-tree-keys', 2, b'radix-tree-nodes', 6,
                          b'last-generated-id', b'2-4', b'max-deleted-entry-id', b'2-2',
                          b'entries-added', 11, b'recorded-first-entry-id', b'1-7', b'groups', 0,
                          b'first-entry', [b'1-7', [b'a', b'7']], b'last-entry',
                          [b'2-4', [b'a', b'1']]], {b'length': 3, b'radix-tree-keys': 2,
                                                    b'radix-tree-nodes': 6,
                                                    b'last-generated-id': b'2-4',
                                                    b'max-deleted-entry-id': b'2-2',
                                                    b'entries-added': 11,
                                                    b'recorded-first-entry-id': b'1-7',
                                                    b'groups': 0,
                                                    b'first-entry': [b'1-7',
                                                                     [b'a', b'7']],
                                                    b'last-entry': [b'2-4',
                                                                    [b'a', b'1']]})),
    ('XTRIM t MAXLEN ~ 1 LIMIT 2', 1),
    ('XLEN t', 2),
    ('XTRIM t MAXLEN ~ 1 LIMIT 10', 0),
    ('XLEN t', 2),
    ('XTRIM t MINID 2-4', 1),
    ('XRANGE t - +', [[b'2-4', [b'a', b'1']]]),
    ('XINFO STREAM t', P([b'length', 1, b'radix-tree-keys', 1, b'radix-tree-nodes', 2,
                          b'last-generated-id', b'2-4', b'max-deleted-entry-id', b'2-2',
                          b'entries-added', 11, b'recorded-first-entry-id', b'2-4', b'groups', 0,
                          b'first-entry', [b'2-4', [b'a', b'1']], b'last-entry',
                          [b'2-4', [b'a', b'1']]], {b'length': 1, b'radix-tree-keys': 1,
                                                    b'radix-tree-nodes': 2,
                                                    b'last-generated-id': b'2-4',
                                                    b'max-deleted-entry-id': b'2-2',
                                                    b'entries-added': 11,
                                                    b'recorded-first-entry-id': b'2-4',
                                                    b'groups': 0,
                                                    b'first-entry': [b'2-4',
                                                                     [b'a', b'1']],
                                                    b'last-entry': [b'2-4',
                                                                    [b'a', b'1']]})),
    ('XADD t MINID ~ 3-0 3-1 a 1', b'3-1'),
    ('XADD t MINID = 3-0 3-2 a 1', b'3-2'),
    ('XRANGE t - +', [[b'3-1', [b'a', b'1']], [b'3-2', [b'a', b'1']]]),
    ('XTRIM t MAXLEN 0', 2),
    ('XINFO STREAM t', P([b'length', 0, b'radix-tree-keys', 0, b'radix-tree-nodes', 1,
                          b'last-generated-id', b'3-2', b'max-deleted-entry-id', b'2-2',
                          b'entries-added', 13, b'recorded-first-entry-id', b'0-0', b'groups', 0,
                          b'first-entry', None, b'last-entry', None],
                         {b'length': 0, b'radix-tree-keys': 0, b'radix-tree-nodes': 1,
                          b'last-generated-id': b'3-2', b'max-deleted-entry-id': b'2-2',
                          b'entries-added': 13, b'recorded-first-entry-id': b'0-0', b'groups': 0,
                          b'first-entry': None, b'last-entry': None})),
    ('XADD t 4-1 a 1', b'4-1'),
    ('XADD t 4-2 a 1', b'4-2'),
    ('XADD t 4-3 a 1', b'4-3'),
    ('XDEL t 4-3', 1),
    ('XINFO STREAM t', P([b'length', 2, b'radix-tree-keys', 1, b'radix-tree-nodes', 2,
                          b'last-generated-id', b'4-3', b'max-deleted-entry-id', b'4-3',
                          b'entries-added', 16, b'recorded-first-entry-id', b'4-1', b'groups', 0,
                          b'first-entry', [b'4-1', [b'a', b'1']], b'last-entry',
                          [b'4-2', [b'a', b'1']]], {b'length': 2, b'radix-tree-keys': 1,
                                                    b'radix-tree-nodes': 2,
                                                    b'last-generated-id': b'4-3',
                                                    b'max-deleted-entry-id': b'4-3',
                                                    b'entries-added': 16,
                                                    b'recorded-first-entry-id': b'4-1',
                                                    b'groups': 0,
                                                    b'first-entry': [b'4-1',
                                                                     [b'a', b'1']],
                                                    b'last-entry': [b'4-2',
                                                                    [b'a', b'1']]})),
    ('XGROUP CREATE t g 0', 'OK'),
    ('XINFO GROUPS t', P([[b'name', b'g', b'consumers', 0, b'pending', 0, b'last-delivered-id',
                           b'0-0', b'entries-read', None, b'lag', None]],
                         [{b'name': b'g', b'consumers': 0, b'pending': 0,
                           b'last-delivered-id': b'0-0', b'entries-read': None, b'lag': None}])),
    ('XREADGROUP GROUP g c STREAMS t >', P([[b't', [[b'4-1', [b'a', b'1']], [b'4-2', [b'a',
                                                                                      b'1']]]]],
                                           {b't': [[b'4-1', [b'a', b'1']], [b'4-2', [b'a',
                                                                                     b'1']]]})),
    ('XINFO GROUPS t', P([[b'name', b'g', b'consumers', 1, b'pending', 2, b'last-delivered-id',
                           b'4-2', b'entries-read', None, b'lag', None]],
                         [{b'name': b'g', b'consumers': 1, b'pending': 2,
                           b'last-delivered-id': b'4-2', b'entries-read': None, b'lag': None}])),
    ('XADD t 4-4 a 1', b'4-4'),
    ('XDEL t 4-1', 1),
    ('XINFO GROUPS t', P([[b'name', b'g', b'consumers', 1, b'pending', 2, b'last-delivered-id',
                           b'4-2', b'entries-read', None, b'lag', None]],
                         [{b'name': b'g', b'consumers': 1, b'pending': 2,
                           b'last-delivered-id': b'4-2', b'entries-read': None, b'lag': None}])),
    ('XGROUP CREATE t g2 0 ENTRIESREAD 1', 'OK'),
    ('XINFO GROUPS t', P([[b'name', b'g', b'consumers', 1, b'pending', 2, b'last-delivered-id',
                           b'4-2', b'entries-read', None, b'lag', None], [b'name', b'g2',
                                                                          b'consumers', 0,
                                                                          b'pending', 0,
                                                                          b'last-delivered-id',
                                                                          b'0-0', b'entries-read',
                                                                          1, b'lag', None]],
                         [{b'name': b'g', b'consumers': 1, b'pending': 2,
                           b'last-delivered-id': b'4-2', b'entries-read': None, b'lag': None},
                          {b'name': b'g2', b'consumers': 0, b'pending': 0,
                           b'last-delivered-id': b'0-0', b'entries-read': 1, b'lag': None}])),
    ('XGROUP SETID t g2 4-2', 'OK'),
    ('XINFO GROUPS t', P([[b'name', b'g', b'consumers', 1, b'pending', 2, b'last-delivered-id',
                           b'4-2', b'entries-read', None, b'lag', None], [b'name', b'g2',
                                                                          b'consumers', 0,
                                                                          b'pending', 0,
                                                                          b'last-delivered-id',
                                                                          b'4-2', b'entries-read',
                                                                          None, b'lag', None]],
                         [{b'name': b'g', b'consumers': 1, b'pending': 2,
                           b'last-delivered-id': b'4-2', b'entries-read': None, b'lag': None},
                          {b'name': b'g2', b'consumers': 0, b'pending': 0,
                           b'last-delivered-id': b'4-2', b'entries-read': None, b'lag': None}])),
    ('XREADGROUP GROUP g2 c STREAMS t >', P([[b't', [[b'4-4', [b'a', b'1']]]]],
                                            {b't': [[b'4-4', [b'a', b'1']]]})),
    ('XINFO GROUPS t', P([[b'name', b'g', b'consumers', 1, b'pending', 2, b'last-delivered-id',
                           b'4-2', b'entries-read', None, b'lag', None], [b'name', b'g2',
                                                                          b'consumers', 1,
                                                                          b'pending', 1,
                                                                          b'last-delivered-id',
                                                                          b'4-4', b'entries-read',
                                                                          17, b'lag', 0]],
                         [{b'name': b'g', b'consumers': 1, b'pending': 2,
                           b'last-delivered-id': b'4-2', b'entries-read': None, b'lag': None},
                          {b'name': b'g2', b'consumers': 1, b'pending': 1,
                           b'last-delivered-id': b'4-4', b'entries-read': 17, b'lag': 0}])),
    ('XSETID t 9-9 ENTRIESADDED 100 MAXDELETEDID 5-5', 'OK'),
    ('XINFO STREAM t', P([b'length', 2, b'radix-tree-keys', 2, b'radix-tree-nodes', 4,
                          b'last-generated-id', b'9-9', b'max-deleted-entry-id', b'5-5',
                          b'entries-added', 100, b'recorded-first-entry-id', b'4-2', b'groups', 2,
                          b'first-entry', [b'4-2', [b'a', b'1']], b'last-entry',
                          [b'4-4', [b'a', b'1']]], {b'length': 2, b'radix-tree-keys': 2,
                                                    b'radix-tree-nodes': 4,
                                                    b'last-generated-id': b'9-9',
                                                    b'max-deleted-entry-id': b'5-5',
                                                    b'entries-added': 100,
                                                    b'recorded-first-entry-id': b'4-2',
                                                    b'groups': 2,
                                                    b'first-entry': [b'4-2',
                                                                     [b'a', b'1']],
                                                    b'last-entry': [b'4-4',
                                                                    [b'a', b'1']]})),
    ('XINFO GROUPS t', P([[b'name', b'g', b'consumers', 1, b'pending', 2, b'last-delivered-id',
                           b'4-2', b'entries-read', None, b'lag', None], [b'name', b'g2',
                                                                          b'consumers', 1,
                                                                          b'pending', 1,
                                                                          b'last-delivered-id',
                                                                          b'4-4', b'entries-read',
                                                                          17, b'lag', None]],
                         [{b'name': b'g', b'consumers': 1, b'pending': 2,
                           b'last-delivered-id': b'4-2', b'entries-read': None, b'lag': None},
                          {b'name': b'g2', b'consumers': 1, b'pending': 1,
                           b'last-delivered-id': b'4-4', b'entries-read': 17, b'lag': None}])),
    ('CONFIG SET stream-node-max-entries 100', 'OK'),
    ('CONFIG SET stream-node-max-bytes 100', 'OK'),
    ('XADD u 1-1 f aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', b'1-1'),
    ('XADD u 1-2 f aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', b'1-2'),
    ('XADD u 1-3 f aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', b'1-3'),
    ('XADD u 1-4 g bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', b'1-4'),
    ('XADD u 1-5 f 12345', b'1-5'),
    ('XADD u 1-6 f 12', b'1-6'),
    ('XADD u 1-7 f -100000', b'1-7'),
    ('XINFO STREAM u', P([b'length', 7, b'radix-tree-keys', 5, b'radix-tree-nodes', 7,
                          b'last-generated-id', b'1-7', b'max-deleted-entry-id', b'0-0',
                          b'entries-added', 7, b'recorded-first-entry-id', b'1-1', b'groups', 0,
                          b'first-entry', [b'1-1', [b'f',
                                                    b'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa']],
                          b'last-entry', [b'1-7', [b'f', b'-100000']]],
                         {b'length': 7, b'radix-tree-keys': 5, b'radix-tree-nodes': 7,
                          b'last-generated-id': b'1-7', b'max-deleted-entry-id': b'0-0',
                          b'entries-added': 7, b'recorded-first-entry-id': b'1-1', b'groups': 0,
                          b'first-entry': [b'1-1', [b'f',
                                                    b'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa']],
                          b'last-entry': [b'1-7', [b'f', b'-100000']]})),
    ('XTRIM u MAXLEN ~ 1', 6),
    ('XLEN u', 1),
    ('CONFIG SET stream-node-max-bytes 4096', 'OK'),
]


KEYSPACE = [
    ('XADD s 1-1 a 1', b'1-1'),
    ('XGROUP CREATE s g 0', 'OK'),
    ('XREADGROUP GROUP g c STREAMS s >', P([[b's', [[b'1-1', [b'a', b'1']]]]],
                                           {b's': [[b'1-1', [b'a', b'1']]]})),
    ('COPY s s2', 1),
    ('XINFO GROUPS s2', P([[b'name', b'g', b'consumers', 1, b'pending', 1, b'last-delivered-id',
                            b'1-1', b'entries-read', 1, b'lag', 0]], [{b'name': b'g',
                                                                       b'consumers': 1,
                                                                       b'pending': 1,
                                                                       b'last-delivered-id': b'1-1',
                                                                       b'entries-read': 1,
                                                                       b'lag': 0}])),
    ('XADD s2 2-1 b 2', b'2-1'),
    ('XLEN s', 1),
    ('XLEN s2', 2),
    ('XPENDING s2 g', [1, b'1-1', b'1-1', [[b'c', b'1']]]),
    ('XACK s2 g 1-1', 1),
    ('XPENDING s g', [1, b'1-1', b'1-1', [[b'c', b'1']]]),
    ('COPY s s2', 0),
    ('COPY s s2 REPLACE', 1),
    ('XLEN s2', 1),
    ('COPY s s3 DB 1', 1),
    ('MOVE s 2', 1),
    ('EXISTS s', 0),
    ('SELECT 2', 'OK'),
    ('XRANGE s - +', [[b'1-1', [b'a', b'1']]]),
    ('XINFO GROUPS s', P([[b'name', b'g', b'consumers', 1, b'pending', 1, b'last-delivered-id',
                           b'1-1', b'entries-read', 1, b'lag', 0]], [{b'name': b'g',
                                                                      b'consumers': 1,
                                                                      b'pending': 1,
                                                                      b'last-delivered-id': b'1-1',
                                                                      b'entries-read': 1,
                                                                      b'lag': 0}])),
    ('MOVE s 0', 1),
    ('SELECT 0', 'OK'),
    ('RENAME s sr', 'OK'),
    ('XINFO GROUPS sr', P([[b'name', b'g', b'consumers', 1, b'pending', 1, b'last-delivered-id',
                            b'1-1', b'entries-read', 1, b'lag', 0]], [{b'name': b'g',
                                                                       b'consumers': 1,
                                                                       b'pending': 1,
                                                                       b'last-delivered-id': b'1-1',
                                                                       b'entries-read': 1,
                                                                       b'lag': 0}])),
    ('TYPE sr', 'stream'),
    ('DEL sr s2', 2),
    ('EXISTS sr', 0),
    ('XADD e MAXLEN 0 1-1 a b', b'1-1'),
    ('EXISTS e', 1),
    ('TYPE e', 'stream'),
    ('XLEN e', 0),
    ('XRANGE e - +', []),
    ('EXPIRE e 100', 1),
    ('TTL e', 100),
    ('PERSIST e', 1),
    ('LPUSH e x', E('WRONGTYPE Operation against a key holding the wrong kind of value')),
    ('XADD l 1-1 a b', b'1-1'),
    ('SCAN 0 TYPE stream', [b'0', U([b'e', b'l'])]),  # unordered
    ('DBSIZE', 2),
    ('MULTI', 'OK'),
    ('XADD m 1-1 a b', 'QUEUED'),
    ('XREAD STREAMS m 0', 'QUEUED'),
    ('XLEN m', 'QUEUED'),
    ('EXEC', P([b'1-1', [[b'm', [[b'1-1', [b'a', b'b']]]]], 1],
               [b'1-1', {b'm': [[b'1-1', [b'a', b'b']]]}, 1])),
    ('EVAL "return redis.call(\'XADD\', KEYS[1], \'5-5\', \'f\', \'v\')" 1 m', b'5-5'),
    ('EVAL "return redis.call(\'XRANGE\', KEYS[1], \'-\', \'+\')" 1 m', [[b'1-1', [b'a', b'b']],
                                                                         [b'5-5', [b'f', b'v']]]),
    ('EVAL "return redis.call(\'XINFO\', \'STREAM\', KEYS[1])" 1 m',
     [b'length', 2, b'radix-tree-keys', 1, b'radix-tree-nodes', 2, b'last-generated-id', b'5-5',
      b'max-deleted-entry-id', b'0-0', b'entries-added', 2, b'recorded-first-entry-id', b'1-1',
      b'groups', 0, b'first-entry', [b'1-1', [b'a', b'b']], b'last-entry',
      [b'5-5', [b'f', b'v']]]),
    ('XADD "" 1-1 a b', b'1-1'),
    ('XADD m 6-1 "" ""', b'6-1'),
    ('XRANGE m 6 6', [[b'6-1', [b'', b'']]]),
    ('XADD m 7-1 a b a c', b'7-1'),
    ('XRANGE m 7 7', [[b'7-1', [b'a', b'b', b'a', b'c']]]),
    ('XREVRANGE m + - COUNT 2', [[b'7-1', [b'a', b'b', b'a', b'c']], [b'6-1', [b'', b'']]]),
    ('XREVRANGE m (6-1 -', [[b'5-5', [b'f', b'v']], [b'1-1', [b'a', b'b']]]),
]



@pytest.mark.parametrize("table", [BASICS, GROUPS, TRIMMING, KEYSPACE],
                         ids=["basics", "groups", "trimming", "keyspace"])
def test_streams(run, table) -> None:
    run(table)


def _blocking(port: int, protocol: int) -> list[Any]:
    """Blocked readers woken (or not) by other clients' writes; every reply, in order."""
    a, b, c = Wire(port, protocol), Wire(port, protocol), Wire(port, protocol)
    a.call("FLUSHALL")
    out: list[Any] = []

    def until_blocked(n: int) -> None:
        deadline = time.monotonic() + 10
        while f"blocked_clients:{n}".encode() not in b.call("INFO", "clients"):
            assert time.monotonic() < deadline, f"{n} client(s) never blocked"
            time.sleep(0.005)

    def blocked(*args: str) -> None:
        a.send(*args)
        until_blocked(1)

    blocked("XREAD", "BLOCK", "5000", "STREAMS", "s1", "s2", "$", "$")
    out.append(b.call("XADD", "s2", "1-1", "f", "v"))
    out.append(a.read())                                       # woken with s2 only
    out.append(a.call("XREAD", "BLOCK", "50", "STREAMS", "s2", "$"))  # times out: null
    out.append(b.call("XGROUP", "CREATE", "s2", "g", "$"))
    blocked("XREADGROUP", "GROUP", "g", "c1", "BLOCK", "5000", "STREAMS", "s2", ">")
    out.append(b.call("XADD", "s2", "2-1", "f", "v"))
    out.append(a.read())
    out.append(b.call("XPENDING", "s2", "g"))
    blocked("XREADGROUP", "GROUP", "g", "c1", "BLOCK", "5000", "STREAMS", "s2", ">")
    c.send("XREADGROUP", "GROUP", "g", "c2", "BLOCK", "300", "STREAMS", "s2", ">")
    until_blocked(2)
    out.append(b.call("XADD", "s2", "3-1", "f", "v"))
    out.append(a.read())                                       # the first blocked is served
    out.append(c.read())                                       # the second times out
    blocked("XREADGROUP", "GROUP", "g", "c1", "BLOCK", "5000", "STREAMS", "s2", ">")
    out.append(b.call("XGROUP", "DESTROY", "s2", "g"))
    out.append(a.read())                                       # -NOGROUP
    blocked("XREAD", "BLOCK", "3000", "STREAMS", "s9", "0")
    out.append(b.call("XADD", "tmp", "1-1", "a", "b"))
    out.append(b.call("RENAME", "tmp", "s9"))
    out.append(a.read())                                       # woken by RENAME into place
    b.call("XGROUP", "CREATE", "s3", "g", "$", "MKSTREAM")
    blocked("XREADGROUP", "GROUP", "g", "c1", "BLOCK", "3000", "STREAMS", "s3", ">")
    out.append(b.call("DEL", "s3"))
    out.append(a.read())                                       # -UNBLOCKED
    blocked("XREAD", "BLOCK", "300", "STREAMS", "s4", "$")
    out.append(b.call("SET", "s4", "x"))
    out.append(a.read())                                       # not a stream: times out
    b.call("MULTI")
    b.call("XREAD", "BLOCK", "0", "STREAMS", "s2", "$")
    out.append(b.call("EXEC"))                                 # no blocking inside MULTI
    out.append(b.call("EVAL", "return redis.call('XREAD','BLOCK','0','STREAMS','s2','$')", "0"))
    out.append(b.call("EVAL", "return redis.call('XREAD','STREAMS','s2','0')", "0"))
    blocked("XREAD", "COUNT", "1", "BLOCK", "5000", "STREAMS", "s5", "0")
    b.call("MULTI")
    b.call("XADD", "s5", "1-1", "a", "b")
    b.call("XADD", "s5", "1-2", "a", "b")
    out.append(b.call("EXEC"))
    out.append(a.read())                                       # COUNT 1 still applies
    for w in (a, b, c):
        w.close()
    return out


@pytest.mark.parametrize("protocol", [2, 3], ids=["resp2", "resp3"])
def test_blocked_readers_are_woken_as_redis_wakes_them(pair, protocol: int) -> None:
    hero, oracle = (_blocking(port, protocol) for port in pair)
    assert hero == oracle
    assert hero[1] in ([[b"s2", [[b"1-1", [b"f", b"v"]]]]], {b"s2": [[b"1-1", [b"f", b"v"]]]})


EVENTS = """
XADD s 1-1 a 1
XADD s MAXLEN 1 1-2 a 2
XADD nos NOMKSTREAM 1-1 a 1
XDEL s 1-2
XDEL s 1-2
XADD s 2-1 a 1
XTRIM s MAXLEN 0
XTRIM s MAXLEN 0
XSETID s 5-5
XGROUP CREATE s g $
XGROUP CREATE s2 g $ MKSTREAM
XGROUP CREATECONSUMER s g c
XGROUP CREATECONSUMER s g c
XADD s 6-1 a 1
XREADGROUP GROUP g d STREAMS s >
XACK s g 6-1
XCLAIM s g e 0 6-1 FORCE
XAUTOCLAIM s g f 0 0
XGROUP SETID s g 0
XGROUP DELCONSUMER s g c
XGROUP DESTROY s g
RENAME s s3
DEL s3 s2
"""


def test_stream_writes_publish_the_same_events(pair) -> None:
    from test_compat_notify import events, subscribe
    seen = []
    for port in pair:
        w = Wire(port, 2)
        w.call("FLUSHALL")
        assert w.call("CONFIG", "SET", "notify-keyspace-events", "KEA") == "OK"
        sub = subscribe(port, 3)
        for line in EVENTS.strip().splitlines():
            w.call(*shlex.split(line))
        seen.append(events(sub))
        w.call("CONFIG", "SET", "notify-keyspace-events", "")
        sub.close()
        w.close()
    assert seen[0] == seen[1]
    assert [b"pmessage", b"__key*__:*", b"__keyevent@0__:xadd", b"s"] in seen[0]


def _state(w: Wire) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k in ("s", "t", "e"):
        full = w.call("XINFO", "STREAM", k, "FULL")
        for g in full[full.index(b"groups") + 1]:
            for cons in g[g.index(b"consumers") + 1]:
                cons[cons.index(b"seen-time") + 1] = 0  # the time it was last seen: not kept
        out[k] = full
    return out


def test_streams_survive_a_restart_and_a_rewrite(tmp_path) -> None:
    data = tmp_path / "data"
    hd = start_herodb(data, "--appendfsync", "always", logs=tmp_path)
    w = Wire(hd.port)
    w.call("XADD", "s", "1-1", "a", "1")
    w.call("XADD", "s", "*", "b", "2")
    w.call("XADD", "s", "MAXLEN", "~", "1", "*", "c", "3")
    for i in range(250):
        w.call("XADD", "t", "*", "n", str(i))
    assert w.call("XTRIM", "t", "MAXLEN", "~", "120") == 100  # one whole node of 100
    w.call("XDEL", "t", w.call("XRANGE", "t", "-", "+", "COUNT", "1")[0][0])
    w.call("XGROUP", "CREATE", "s", "g", "0")
    w.call("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">")
    w.call("XGROUP", "CREATECONSUMER", "s", "g", "bob")
    w.call("XCLAIM", "s", "g", "bob", "0", "1-1")
    w.call("XGROUP", "CREATE", "t", "g2", "$")
    w.call("XADD", "t", "*", "x", "y")
    w.call("XREADGROUP", "GROUP", "g2", "c", "NOACK", "STREAMS", "t", ">")
    w.call("XGROUP", "CREATE", "e", "g", "$", "MKSTREAM")
    w.call("XADD", "e", "5-5", "a", "b")
    w.call("XDEL", "e", "5-5")
    before = _state(w)
    assert before["s"][before["s"].index(b"length") + 1] == 3
    w.close()
    hd.stop()
    hd = start_herodb(data, "--appendfsync", "always", logs=tmp_path)
    w = Wire(hd.port)
    assert _state(w) == before
    assert w.call("TYPE", "e") == "stream"
    assert w.call("BGREWRITEAOF").startswith("Background")
    deadline = time.monotonic() + 10
    while b"aof_rewrite_in_progress:1" in w.call("INFO", "persistence") \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    w.close()
    hd.stop()
    hd = start_herodb(data, "--appendfsync", "always", logs=tmp_path)
    w = Wire(hd.port)
    assert _state(w) == before
    w.close()
    hd.stop()
    shutil.rmtree(data, ignore_errors=True)


def test_debug_loadaof_finds_what_a_restart_finds(tmp_path) -> None:
    """DEBUG LOADAOF (Redis' stream units check persistence with it): the log is written
    out, the keys forgotten and the log replayed; streams with groups come back the same."""
    hd = start_herodb(tmp_path / "data", "--appendfsync", "no", logs=tmp_path)
    w = Wire(hd.port)
    w.call("XADD", "s", "1-1", "a", "1")
    w.call("XADD", "t", "5-1", "a", "1")
    w.call("XADD", "e", "5-5", "a", "b")
    w.call("XDEL", "e", "5-5")
    w.call("XGROUP", "CREATE", "s", "g", "0")
    w.call("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">")
    w.call("SET", "k", "v")
    before = _state(w)
    assert w.call("DEBUG", "LOADAOF") == "OK"
    assert _state(w) == before
    assert w.call("GET", "k") == b"v"
    assert w.call("XADD", "s", "2-1", "b", "2") == b"2-1"   # the log still takes writes
    assert w.call("DEBUG", "LOADAOF") == "OK"
    assert w.call("XLEN", "s") == 2
    w.close()
    hd.stop()
