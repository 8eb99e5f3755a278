"""paho-mqtt (PyPI) doing what `mqtt-client` does in scripts/bench_mqtt.py, for the same
ratios: each line of stdin published to TOPIC at QoS, then exit once every publish is
written (QoS 0) or acknowledged (QoS 1); with --count N also subscribed to FILTER, and
exit after N messages came back. At most 16 messages in flight, as mqtt-client's table.

  python3 bench_paho.py PORT TOPIC QOS [FILTER N]"""
import sys
import threading

import paho.mqtt.client as mqtt


def main():
    port, topic, qos = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    filt, wanted = (sys.argv[4], int(sys.argv[5])) if len(sys.argv) > 5 else (None, 0)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.max_inflight_messages_set(16)
    subscribed, done = threading.Event(), threading.Event()
    received = 0

    def on_connect(c, _userdata, _flags, _reason, _props):
        if filt:
            c.subscribe(filt, 0)
        else:
            subscribed.set()

    def on_message(_c, _userdata, _msg):
        nonlocal received
        received += 1
        if received == wanted:
            done.set()

    client.on_connect = on_connect
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.loop_start()
    subscribed.wait()
    last = None
    for line in sys.stdin.buffer:
        last = client.publish(topic, line.rstrip(b"\n"), qos=qos)
    if last:
        last.wait_for_publish()
    if filt:
        done.wait()
    client.disconnect()
    client.loop_stop()


if __name__ == "__main__":
    main()
