"""Generation for sampling and evaluation (sngan_cli.trained)."""
import torch

from sngan_cli.models import build_generator
from sngan_cli.trained import TrainedGenerator, generate


def test_generated_batches_stay_on_the_generators_device():
    # the meta device has no data: any copy to the host would raise, so this checks that evaluation's
    # images never leave G's device before the detector has them
    G = build_generator("cnn", 16, 128, 0.125).to("meta").eval()
    tg = TrainedGenerator(G=G, z_dim=128, num_classes=0, resolution=16, step=0, config={}, path="-")
    tg.latent = lambda n, generator, label=None: (torch.empty(n, 128, device="meta"), None)
    batches = list(generate(tg, 10, seed=0, batch_size=4))
    assert [tuple(images.shape) for images, _ in batches] == [(4, 3, 16, 16), (4, 3, 16, 16), (2, 3, 16, 16)]
    assert all(images.device.type == "meta" and images.dtype == torch.uint8 for images, _ in batches)
