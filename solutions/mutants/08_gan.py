"""Realistic wrong answers to the exercises of 08_gan; each replaces one solution cell.

The self-test reads only the blocks headed ``# %% mutant``. The imports above them are the
names the chapter's notebook defines before its exercises, so that editors and ruff see them.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

# defined by earlier exercises of the notebook (named here only so that ruff knows them)
d_loss = g_loss = discriminator_step = generator_step = gradient_penalty = None


# %% mutant ch08_sample_ring: angles in degrees, as if cos took degrees
def sample_ring(n, n_modes=8, radius=2.0, std=0.05, generator=None, device=None):
    modes = torch.randint(n_modes, (n,), generator=generator)
    angles = modes * (360 / n_modes)
    centres = radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    points = centres + std * torch.randn(n, 2, generator=generator)
    return points.to(device), modes.to(device)


# %% mutant ch08_sample_ring: scales the noise by the variance instead of the standard deviation
def sample_ring(n, n_modes=8, radius=2.0, std=0.05, generator=None, device=None):
    modes = torch.randint(n_modes, (n,), generator=generator)
    angles = modes * (2 * math.pi / n_modes)
    centres = radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    points = centres + std**2 * torch.randn(n, 2, generator=generator)
    return points.to(device), modes.to(device)


# %% mutant ch08_sample_ring: randint's upper bound is exclusive, so the last mode never appears
def sample_ring(n, n_modes=8, radius=2.0, std=0.05, generator=None, device=None):
    modes = torch.randint(n_modes - 1, (n,), generator=generator)
    angles = modes * (2 * math.pi / n_modes)
    centres = radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    points = centres + std * torch.randn(n, 2, generator=generator)
    return points.to(device), modes.to(device)


# %% mutant ch08_sample_ring: forgets to move the results to the device
def sample_ring(n, n_modes=8, radius=2.0, std=0.05, generator=None, device=None):
    modes = torch.randint(n_modes, (n,), generator=generator)
    angles = modes * (2 * math.pi / n_modes)
    centres = radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    points = centres + std * torch.randn(n, 2, generator=generator)
    return points, modes


# %% mutant ch08_mode_coverage: counts every sample for its mode, high quality or not
def mode_coverage(samples, centres, radius, min_count=20):
    nearest, mode = torch.cdist(samples, centres).min(dim=1)
    good = nearest <= radius
    counts = torch.bincount(mode, minlength=len(centres))
    return int((counts >= min_count).sum()), float(good.float().mean())


# %% mutant ch08_mode_coverage: a mode needs more than min_count samples (> instead of >=)
def mode_coverage(samples, centres, radius, min_count=20):
    nearest, mode = torch.cdist(samples, centres).min(dim=1)
    good = nearest <= radius
    counts = torch.bincount(mode[good], minlength=len(centres))
    return int((counts > min_count).sum()), float(good.float().mean())


# %% mutant ch08_mode_coverage: compares squared distances with the radius
def mode_coverage(samples, centres, radius, min_count=20):
    squared = ((samples[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
    nearest, mode = squared.min(dim=1)
    good = nearest <= radius
    counts = torch.bincount(mode[good], minlength=len(centres))
    return int((counts >= min_count).sum()), float(good.float().mean())


# %% mutant ch08_d_loss: swaps the labels (real 0, fake 1)
def d_loss(real_logits, fake_logits, real_label=1.0):
    real_targets = torch.zeros_like(real_logits)
    fake_targets = torch.full_like(fake_logits, real_label)
    return F.binary_cross_entropy_with_logits(
        real_logits, real_targets
    ) + F.binary_cross_entropy_with_logits(fake_logits, fake_targets)


# %% mutant ch08_d_loss: smooths both sides (the fakes get the label 1 - real_label)
def d_loss(real_logits, fake_logits, real_label=1.0):
    real_targets = torch.full_like(real_logits, real_label)
    fake_targets = torch.full_like(fake_logits, 1 - real_label)
    return F.binary_cross_entropy_with_logits(
        real_logits, real_targets
    ) + F.binary_cross_entropy_with_logits(fake_logits, fake_targets)


# %% mutant ch08_d_loss: one mean over the real and fake batches put together
def d_loss(real_logits, fake_logits, real_label=1.0):
    logits = torch.cat([real_logits, fake_logits])
    targets = torch.cat([torch.full_like(real_logits, real_label), torch.zeros_like(fake_logits)])
    return F.binary_cross_entropy_with_logits(logits, targets)


# %% mutant ch08_d_loss: log of the sigmoid (infinite for confident logits)
def d_loss(real_logits, fake_logits, real_label=1.0):
    p_real, p_fake = torch.sigmoid(real_logits), torch.sigmoid(fake_logits)
    real_term = -(real_label * torch.log(p_real) + (1 - real_label) * torch.log(1 - p_real))
    return real_term.mean() - torch.log(1 - p_fake).mean()


# %% mutant ch08_d_loss: builds the targets on the default device (no device=)
def d_loss(real_logits, fake_logits, real_label=1.0):
    real_targets = torch.full(real_logits.shape, real_label)
    fake_targets = torch.zeros(fake_logits.shape)
    return F.binary_cross_entropy_with_logits(
        real_logits, real_targets
    ) + F.binary_cross_entropy_with_logits(fake_logits, fake_targets)


# %% mutant ch08_g_loss: builds the targets on the default device (no device=)
def g_loss(fake_logits, non_saturating=True):
    if non_saturating:
        return F.binary_cross_entropy_with_logits(fake_logits, torch.ones(fake_logits.shape))
    return -F.binary_cross_entropy_with_logits(fake_logits, torch.zeros(fake_logits.shape))


# %% mutant ch08_g_loss: the minimax loss with the wrong sign
def g_loss(fake_logits, non_saturating=True):
    if non_saturating:
        return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
    return F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))


# %% mutant ch08_g_loss: "non-saturating" written as minus the discriminator's fake term
def g_loss(fake_logits, non_saturating=True):
    minimax = -F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return -minimax if non_saturating else minimax


# %% mutant ch08_g_loss: the flag's meaning is swapped
def g_loss(fake_logits, non_saturating=True):
    if not non_saturating:
        return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
    return -F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))


# %% mutant ch08_g_loss: log(1 - sigmoid) for the minimax loss (minus infinity for confident logits)
def g_loss(fake_logits, non_saturating=True):
    if non_saturating:
        return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
    return torch.log(1 - torch.sigmoid(fake_logits)).mean()


# %% mutant ch08_d_step: forgets to detach the fakes, so D's loss reaches G's gradients
def discriminator_step(G, D, opt_D, real, latent_dim, real_label=1.0):
    z = torch.randn(real.shape[0], latent_dim, device=real.device)
    fake = G(z)
    loss = d_loss(D(real), D(fake), real_label)
    opt_D.zero_grad()
    loss.backward()
    opt_D.step()
    return loss.detach()


# %% mutant ch08_d_step: makes the noise on the CPU (no device=)
def discriminator_step(G, D, opt_D, real, latent_dim, real_label=1.0):
    z = torch.randn(real.shape[0], latent_dim)
    fake = G(z).detach()
    loss = d_loss(D(real), D(fake), real_label)
    opt_D.zero_grad()
    loss.backward()
    opt_D.step()
    return loss.detach()


# %% mutant ch08_d_step: forgets zero_grad, so old gradients are added to the new ones
def discriminator_step(G, D, opt_D, real, latent_dim, real_label=1.0):
    z = torch.randn(real.shape[0], latent_dim, device=real.device)
    fake = G(z).detach()
    loss = d_loss(D(real), D(fake), real_label)
    loss.backward()
    opt_D.step()
    return loss.detach()


# %% mutant ch08_d_step: zeroes the generator's gradients instead of the discriminator's
def discriminator_step(G, D, opt_D, real, latent_dim, real_label=1.0):
    z = torch.randn(real.shape[0], latent_dim, device=real.device)
    fake = G(z).detach()
    loss = d_loss(D(real), D(fake), real_label)
    G.zero_grad()
    loss.backward()
    opt_D.step()
    return loss.detach()


# %% mutant ch08_g_step: detaches the fakes, so no gradient reaches G
def generator_step(G, D, opt_G, batch_size, latent_dim, non_saturating=True):
    z = torch.randn(batch_size, latent_dim, device=next(G.parameters()).device)
    loss = g_loss(D(G(z).detach()), non_saturating)
    opt_G.zero_grad()
    loss.backward()
    opt_G.step()
    return loss.detach()


# %% mutant ch08_g_step: makes the noise on the CPU (no device=)
def generator_step(G, D, opt_G, batch_size, latent_dim, non_saturating=True):
    z = torch.randn(batch_size, latent_dim)
    loss = g_loss(D(G(z)), non_saturating)
    opt_G.zero_grad()
    loss.backward()
    opt_G.step()
    return loss.detach()


# %% mutant ch08_g_step: always uses the non-saturating loss
def generator_step(G, D, opt_G, batch_size, latent_dim, non_saturating=True):
    z = torch.randn(batch_size, latent_dim, device=next(G.parameters()).device)
    loss = g_loss(D(G(z)))
    opt_G.zero_grad()
    loss.backward()
    opt_G.step()
    return loss.detach()


# %% mutant ch08_g_step: forgets zero_grad
def generator_step(G, D, opt_G, batch_size, latent_dim, non_saturating=True):
    z = torch.randn(batch_size, latent_dim, device=next(G.parameters()).device)
    loss = g_loss(D(G(z)), non_saturating)
    loss.backward()
    opt_G.step()
    return loss.detach()


# %% mutant ch08_train_toy_gan: trains D for all steps first, then G for all steps
def train_toy_gan(
    G, D, opt_G, opt_D, sample_real, num_steps, batch_size=256, latent_dim=2, real_label=0.9
):
    G.train()
    D.train()
    d_losses = [
        discriminator_step(G, D, opt_D, sample_real(batch_size), latent_dim, real_label)
        for _ in range(num_steps)
    ]
    g_losses = [generator_step(G, D, opt_G, batch_size, latent_dim) for _ in range(num_steps)]
    return {"d_loss": torch.stack(d_losses).tolist(), "g_loss": torch.stack(g_losses).tolist()}


# %% mutant ch08_train_toy_gan: hands the generator step D's optimizer
def train_toy_gan(
    G, D, opt_G, opt_D, sample_real, num_steps, batch_size=256, latent_dim=2, real_label=0.9
):
    G.train()
    D.train()
    d_losses, g_losses = [], []
    for _ in range(num_steps):
        real = sample_real(batch_size)
        d_losses.append(discriminator_step(G, D, opt_D, real, latent_dim, real_label))
        g_losses.append(generator_step(G, D, opt_D, batch_size, latent_dim))
    return {"d_loss": torch.stack(d_losses).tolist(), "g_loss": torch.stack(g_losses).tolist()}


# %% mutant ch08_gradient_penalty: one eps for the whole batch
def gradient_penalty(critic, real, fake):
    eps = torch.rand((), dtype=real.dtype, device=real.device)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return (grad.flatten(start_dim=1).norm(dim=1) - 1).pow(2).mean()


# %% mutant ch08_gradient_penalty: the norm of the whole batch's gradient
def gradient_penalty(critic, real, fake):
    eps_shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    eps = torch.rand(eps_shape, dtype=real.dtype, device=real.device)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return (grad.norm() - 1).pow(2)


# %% mutant ch08_gradient_penalty: forgets create_graph, so the penalty cannot train the critic
def gradient_penalty(critic, real, fake):
    eps_shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    eps = torch.rand(eps_shape, dtype=real.dtype, device=real.device)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat)
    return (grad.flatten(start_dim=1).norm(dim=1) - 1).pow(2).mean()


# %% mutant ch08_gradient_penalty: makes eps on the CPU (no device=)
def gradient_penalty(critic, real, fake):
    eps_shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    eps = torch.rand(eps_shape, dtype=real.dtype)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return (grad.flatten(start_dim=1).norm(dim=1) - 1).pow(2).mean()


# %% mutant ch08_gradient_penalty: takes the norm over dim 1 only, without flattening images
def gradient_penalty(critic, real, fake):
    eps_shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    eps = torch.rand(eps_shape, dtype=real.dtype, device=real.device)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return (grad.norm(dim=1) - 1).pow(2).mean()


# %% mutant ch08_critic_loss: the score gap has the wrong sign
def critic_loss(critic, real, fake, lam=10.0):
    gap = critic(real).mean() - critic(fake).mean()
    return gap + lam * gradient_penalty(critic, real, fake)


# %% mutant ch08_critic_loss: forgets to weight the penalty by lam
def critic_loss(critic, real, fake, lam=10.0):
    gap = critic(fake).mean() - critic(real).mean()
    return gap + gradient_penalty(critic, real, fake)


# %% mutant ch08_conv_transpose_size: forgets output_padding
def conv_transpose_output_size(n, kernel_size, stride=1, padding=0, output_padding=0, dilation=1):
    return (n - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + 1


# %% mutant ch08_conv_transpose_size: n * stride instead of (n - 1) * stride
def conv_transpose_output_size(n, kernel_size, stride=1, padding=0, output_padding=0, dilation=1):
    return n * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding


# %% mutant ch08_conv_transpose_size: subtracts the padding once, not once per side
def conv_transpose_output_size(n, kernel_size, stride=1, padding=0, output_padding=0, dilation=1):
    return (n - 1) * stride - padding + dilation * (kernel_size - 1) + output_padding + 1


# %% mutant ch08_dcgan_generator: a sigmoid output, so images stay in [0, 1]
class DCGANGenerator(nn.Module):
    def __init__(self, latent_dim=64, ngf=32):
        super().__init__()
        self.net = nn.Sequential(
            nn.ConvTranspose2d(latent_dim, 2 * ngf, 7, bias=False),
            nn.BatchNorm2d(2 * ngf),
            nn.ReLU(),
            nn.ConvTranspose2d(2 * ngf, ngf, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(),
            nn.ConvTranspose2d(ngf, 1, 4, stride=2, padding=1),
            nn.Sigmoid(),
        )

    def forward(self, z):
        return self.net(z.view(z.shape[0], -1, 1, 1))


# %% mutant ch08_dcgan_generator: no padding in the last layer (30x30 images)
class DCGANGenerator(nn.Module):
    def __init__(self, latent_dim=64, ngf=32):
        super().__init__()
        self.net = nn.Sequential(
            nn.ConvTranspose2d(latent_dim, 2 * ngf, 7, bias=False),
            nn.BatchNorm2d(2 * ngf),
            nn.ReLU(),
            nn.ConvTranspose2d(2 * ngf, ngf, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(),
            nn.ConvTranspose2d(ngf, 1, 4, stride=2),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.net(z.view(z.shape[0], -1, 1, 1))


# %% mutant ch08_dcgan_generator: BatchNorm on the output layer too
class DCGANGenerator(nn.Module):
    def __init__(self, latent_dim=64, ngf=32):
        super().__init__()
        self.net = nn.Sequential(
            nn.ConvTranspose2d(latent_dim, 2 * ngf, 7, bias=False),
            nn.BatchNorm2d(2 * ngf),
            nn.ReLU(),
            nn.ConvTranspose2d(2 * ngf, ngf, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(),
            nn.ConvTranspose2d(ngf, 1, 4, stride=2, padding=1),
            nn.BatchNorm2d(1),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.net(z.view(z.shape[0], -1, 1, 1))


# %% mutant ch08_dcgan_discriminator: ends with a sigmoid (probabilities, not logits)
class DCGANDiscriminator(nn.Module):
    def __init__(self, ndf=32):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, ndf, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(ndf, 2 * ndf, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(2 * ndf),
            nn.LeakyReLU(0.2),
            nn.Conv2d(2 * ndf, 1, 7),
            nn.Sigmoid(),
        )

    def forward(self, x):
        return self.net(x).flatten()


# %% mutant ch08_dcgan_discriminator: returns (B, 1) instead of (B,)
class DCGANDiscriminator(nn.Module):
    def __init__(self, ndf=32):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, ndf, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(ndf, 2 * ndf, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(2 * ndf),
            nn.LeakyReLU(0.2),
            nn.Conv2d(2 * ndf, 1, 7),
        )

    def forward(self, x):
        return self.net(x).flatten(start_dim=1)


# %% mutant ch08_dcgan_discriminator: BatchNorm on the input layer as well
class DCGANDiscriminator(nn.Module):
    def __init__(self, ndf=32):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, ndf, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(ndf),
            nn.LeakyReLU(0.2),
            nn.Conv2d(ndf, 2 * ndf, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(2 * ndf),
            nn.LeakyReLU(0.2),
            nn.Conv2d(2 * ndf, 1, 7),
        )

    def forward(self, x):
        return self.net(x).flatten()
