"""Realistic wrong answers to the exercises of 07_autoencoders; each replaces one solution cell.

The self-test reads only the blocks headed ``# %% mutant``. The imports above them are the
names the chapter's notebook defines before its exercises, so that editors and ruff see them.
"""

import torch
import torch.nn.functional as F
from torch import nn

# Stand-ins for functions the notebook defines before the exercises that call them (the mutant
# blocks below use them; the self-test runs each block inside the notebook, where the notebook's
# own definitions apply).


def add_noise(x, std):
    return (x + std * torch.randn_like(x)).clamp(0.0, 1.0)


def gaussian_kl(mu, logvar):
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)


def reconstruction_loss(x_hat, x, kind="bce"):
    return F.binary_cross_entropy(x_hat, x, reduction="sum") / len(x)


def vae_loss(x_hat, x, mu, logvar, beta=1.0):
    recon = reconstruction_loss(x_hat, x, "bce")
    kl = gaussian_kl(mu, logvar).mean()
    return recon + beta * kl, recon, kl


# %% mutant ch07_pca_reconstruct: forgets to centre the data before the SVD
def pca_reconstruct(X_train, X, k):
    _, _, Vh = torch.linalg.svd(X_train, full_matrices=False)
    V_k = Vh[:k].T
    return X @ V_k @ V_k.T


# %% mutant ch07_pca_reconstruct: takes the left singular vectors U instead of V
def pca_reconstruct(X_train, X, k):
    mean = X_train.mean(dim=0)
    U, _, _ = torch.linalg.svd(X_train - mean, full_matrices=False)
    U_k = U[:, :k]
    return mean + (X - mean) @ U_k @ U_k.T


# %% mutant ch07_pca_reconstruct: keeps the last k singular vectors (the smallest variances)
def pca_reconstruct(X_train, X, k):
    mean = X_train.mean(dim=0)
    _, _, Vh = torch.linalg.svd(X_train - mean, full_matrices=False)
    V_k = Vh[-k:].T
    return mean + (X - mean) @ V_k @ V_k.T


# %% mutant ch07_reconstruction_loss: wrong reduction, the mean over every pixel (PyTorch's default)
def reconstruction_loss(x_hat, x, kind="bce"):
    if kind == "mse":
        return F.mse_loss(x_hat, x)
    return F.binary_cross_entropy(x_hat, x)


# %% mutant ch07_reconstruction_loss: wrong reduction, sums over the batch as well
def reconstruction_loss(x_hat, x, kind="bce"):
    if kind == "mse":
        return F.mse_loss(x_hat, x, reduction="sum")
    return F.binary_cross_entropy(x_hat, x, reduction="sum")


# %% mutant ch07_reconstruction_loss: swaps prediction and target in the binary cross-entropy
def reconstruction_loss(x_hat, x, kind="bce"):
    if kind == "mse":
        return ((x_hat - x) ** 2).flatten(1).sum(1).mean()
    return F.binary_cross_entropy(x, x_hat, reduction="none").flatten(1).sum(1).mean()


# %% mutant ch07_conv_decoder: forgets output_padding, so 7 -> 13 -> 25 instead of 7 -> 14 -> 28
class ConvDecoder(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(latent_dim, 32 * 7 * 7),
            nn.ReLU(),
            nn.Unflatten(1, (32, 7, 7)),
            nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(16, 1, 3, stride=2, padding=1),
            nn.Sigmoid(),
        )

    def forward(self, z):
        return self.net(z)


# %% mutant ch07_conv_decoder: no sigmoid at the end, so pixels can leave (0, 1)
class ConvDecoder(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(latent_dim, 32 * 7 * 7),
            nn.ReLU(),
            nn.Unflatten(1, (32, 7, 7)),
            nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(16, 1, 3, stride=2, padding=1, output_padding=1),
        )

    def forward(self, z):
        return self.net(z)


# %% mutant ch07_conv_decoder: ends with a ReLU like the other layers instead of a sigmoid
class ConvDecoder(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(latent_dim, 32 * 7 * 7),
            nn.ReLU(),
            nn.Unflatten(1, (32, 7, 7)),
            nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(16, 1, 3, stride=2, padding=1, output_padding=1),
            nn.ReLU(),
        )

    def forward(self, z):
        return self.net(z)


# %% mutant ch07_add_noise: adds the noise in place, so the clean batch (the target) is lost
def add_noise(x, std):
    return x.add_(std * torch.randn_like(x)).clamp_(0.0, 1.0)


# %% mutant ch07_add_noise: creates the noise on the default device (torch.randn(shape) without device=)
def add_noise(x, std):
    return (x + std * torch.randn(x.shape)).clamp(0.0, 1.0)


# %% mutant ch07_add_noise: forgets to clip, so pixels leave [0, 1]
def add_noise(x, std):
    return x + std * torch.randn_like(x)


# %% mutant ch07_add_noise: draws uniform noise in [0, std) instead of Gaussian noise
def add_noise(x, std):
    return (x + std * torch.rand_like(x)).clamp(0.0, 1.0)


# %% mutant ch07_denoising_step: compares the reconstruction with the noisy input instead of the clean batch
def denoising_step(model, optimizer, x, std):
    model.train()
    noisy = add_noise(x, std)
    loss = F.mse_loss(model(noisy), noisy)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


# %% mutant ch07_denoising_step: forgets the noise and trains a plain autoencoder
def denoising_step(model, optimizer, x, std):
    model.train()
    loss = F.mse_loss(model(x), x)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


# %% mutant ch07_denoising_step: forgets zero_grad, so gradients pile up over the steps
def denoising_step(model, optimizer, x, std):
    model.train()
    loss = F.mse_loss(model(add_noise(x, std)), x)
    loss.backward()
    optimizer.step()
    return loss.item()


# %% mutant ch07_denoising_step: adds the noise to x in place, so the target is the noisy batch
def denoising_step(model, optimizer, x, std):
    model.train()
    noisy = x.add_(std * torch.randn_like(x)).clamp_(0.0, 1.0)
    loss = F.mse_loss(model(noisy), x)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


# %% mutant ch07_gaussian_encoder: a ReLU after the mu head forces every mean to be >= 0
class GaussianEncoder(nn.Module):
    def __init__(self, latent_dim, hidden=400):
        super().__init__()
        self.trunk = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, hidden), nn.ReLU())
        self.mu = nn.Linear(hidden, latent_dim)
        self.logvar = nn.Linear(hidden, latent_dim)

    def forward(self, x):
        h = self.trunk(x)
        return torch.relu(self.mu(h)), self.logvar(h)


# %% mutant ch07_gaussian_encoder: the encoder ends with a ReLU and is split in two (mu and logvar both >= 0), as in popular course code
class GaussianEncoder(nn.Module):
    def __init__(self, latent_dim, hidden=400):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(28 * 28, hidden),
            nn.ReLU(),
            nn.Linear(hidden, 2 * latent_dim),
            nn.ReLU(),
        )

    def forward(self, x):
        mu, logvar = self.net(x).chunk(2, dim=1)
        return mu, logvar


# %% mutant ch07_gaussian_encoder: one head serves as both mu and logvar
class GaussianEncoder(nn.Module):
    def __init__(self, latent_dim, hidden=400):
        super().__init__()
        self.trunk = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, hidden), nn.ReLU())
        self.head = nn.Linear(hidden, latent_dim)

    def forward(self, x):
        h = self.head(self.trunk(x))
        return h, h


# %% mutant ch07_reparameterize: uses exp(logvar), the variance, as the standard deviation (the missing 1/2)
def reparameterize(mu, logvar):
    return mu + torch.exp(logvar) * torch.randn_like(mu)


# %% mutant ch07_reparameterize: samples with torch.normal, which passes no gradient to mu and logvar
def reparameterize(mu, logvar):
    return torch.normal(mu, torch.exp(0.5 * logvar))


# %% mutant ch07_reparameterize: creates eps on the default device (torch.randn(shape) without device=)
def reparameterize(mu, logvar):
    eps = torch.randn(mu.shape)
    return mu + torch.exp(0.5 * logvar) * eps


# %% mutant ch07_gaussian_kl: wrong sign
def gaussian_kl(mu, logvar):
    return 0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)


# %% mutant ch07_gaussian_kl: forgets the factor 1/2
def gaussian_kl(mu, logvar):
    return -(1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)


# %% mutant ch07_gaussian_kl: averages over the latent dimensions instead of summing
def gaussian_kl(mu, logvar):
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).mean(dim=1)


# %% mutant ch07_gaussian_kl: treats logvar as the log of the standard deviation
def gaussian_kl(mu, logvar):
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp().pow(2)).sum(dim=1)


# %% mutant ch07_vae_loss: wrong reduction, the reconstruction term is averaged over the pixels
def vae_loss(x_hat, x, mu, logvar, beta=1.0):
    recon = F.binary_cross_entropy(x_hat, x)
    kl = gaussian_kl(mu, logvar).mean()
    return recon + beta * kl, recon, kl


# %% mutant ch07_vae_loss: ignores beta
def vae_loss(x_hat, x, mu, logvar, beta=1.0):
    recon = reconstruction_loss(x_hat, x, "bce")
    kl = gaussian_kl(mu, logvar).mean()
    return recon + kl, recon, kl


# %% mutant ch07_vae_loss: sums the KL term over the batch instead of averaging it
def vae_loss(x_hat, x, mu, logvar, beta=1.0):
    recon = reconstruction_loss(x_hat, x, "bce")
    kl = gaussian_kl(mu, logvar).sum()
    return recon + beta * kl, recon, kl


# %% mutant ch07_vae_step: forgets zero_grad
def vae_step(model, optimizer, x, beta=1.0):
    model.train()
    x_hat, mu, logvar = model(x)
    loss, recon, kl = vae_loss(x_hat, x, mu, logvar, beta)
    loss.backward()
    optimizer.step()
    return {"loss": loss.item(), "recon": recon.item(), "kl": kl.item()}


# %% mutant ch07_vae_step: never calls model.train(), so a model left in eval mode trains in eval mode
def vae_step(model, optimizer, x, beta=1.0):
    x_hat, mu, logvar = model(x)
    loss, recon, kl = vae_loss(x_hat, x, mu, logvar, beta)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return {"loss": loss.item(), "recon": recon.item(), "kl": kl.item()}


# %% mutant ch07_vae_step: drops beta (always the plain ELBO)
def vae_step(model, optimizer, x, beta=1.0):
    model.train()
    x_hat, mu, logvar = model(x)
    loss, recon, kl = vae_loss(x_hat, x, mu, logvar)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return {"loss": loss.item(), "recon": recon.item(), "kl": kl.item()}


# %% mutant ch07_aae_discriminator_loss: forgets to detach the codes, so this loss trains the encoder too
def aae_discriminator_loss(discriminator, z_prior, z_codes):
    real = discriminator(z_prior)
    fake = discriminator(z_codes)
    return F.binary_cross_entropy_with_logits(
        real, torch.ones_like(real)
    ) + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))


# %% mutant ch07_aae_discriminator_loss: swaps the labels (codes real, prior samples fake)
def aae_discriminator_loss(discriminator, z_prior, z_codes):
    real = discriminator(z_prior)
    fake = discriminator(z_codes.detach())
    return F.binary_cross_entropy_with_logits(
        real, torch.zeros_like(real)
    ) + F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


# %% mutant ch07_aae_discriminator_loss: creates the labels on the default device (torch.ones(n, 1) without device=)
def aae_discriminator_loss(discriminator, z_prior, z_codes):
    real = discriminator(z_prior)
    fake = discriminator(z_codes.detach())
    ones, zeros = torch.ones(len(z_prior), 1), torch.zeros(len(z_codes), 1)
    return F.binary_cross_entropy_with_logits(real, ones) + F.binary_cross_entropy_with_logits(
        fake, zeros
    )


# %% mutant ch07_aae_generator_loss: detaches the codes, so no gradient reaches the encoder
def aae_generator_loss(discriminator, z_codes):
    fake = discriminator(z_codes.detach())
    return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


# %% mutant ch07_aae_generator_loss: uses the discriminator's label 0, pushing the codes away from the prior
def aae_generator_loss(discriminator, z_codes):
    fake = discriminator(z_codes)
    return F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))


# %% mutant ch07_aae_generator_loss: creates the labels on the default device
def aae_generator_loss(discriminator, z_codes):
    fake = discriminator(z_codes)
    return F.binary_cross_entropy_with_logits(fake, torch.ones(len(z_codes), 1))


# %% mutant ch07_sample_prior: creates the codes on the default device (torch.randn without device=)
def sample_prior(decoder, num_samples, latent_dim):
    decoder.eval()
    with torch.no_grad():
        return decoder(torch.randn(num_samples, latent_dim))


# %% mutant ch07_sample_prior: records gradients while sampling (no torch.no_grad)
def sample_prior(decoder, num_samples, latent_dim):
    decoder.eval()
    device = next(decoder.parameters()).device
    return decoder(torch.randn(num_samples, latent_dim, device=device))


# %% mutant ch07_sample_prior: draws the codes from a uniform distribution
def sample_prior(decoder, num_samples, latent_dim):
    decoder.eval()
    device = next(decoder.parameters()).device
    with torch.no_grad():
        return decoder(torch.rand(num_samples, latent_dim, device=device))


# %% mutant ch07_sample_prior: forgets eval(), so dropout stays active while sampling
def sample_prior(decoder, num_samples, latent_dim):
    device = next(decoder.parameters()).device
    with torch.no_grad():
        return decoder(torch.randn(num_samples, latent_dim, device=device))
