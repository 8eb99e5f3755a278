// k6 load for `make bench`: each virtual user holds one WebSocket and does echo round
// trips (send, wait for the echo, send again) of SIZE bytes for DURATION ms.
import ws from 'k6/ws';
import { Counter } from 'k6/metrics';

const roundTrips = new Counter('round_trips');
const size = parseInt(__ENV.SIZE || '16');
const duration = parseInt(__ENV.DURATION || '3000');
const payload = 'x'.repeat(size);

export const options = { vus: parseInt(__ENV.VUS || '64'), iterations: parseInt(__ENV.VUS || '64'),
                         summaryTrendStats: ['med'] };

export default function () {
  ws.connect(__ENV.URL, {}, function (socket) {
    socket.on('open', () => socket.send(payload));
    socket.on('message', () => { roundTrips.add(1); socket.send(payload); });
    socket.setTimeout(() => socket.close(), duration);
  });
}
